import { sleep } from '@temporalio/workflow';

export async function threeYears(): Promise<{ elapsedDays: number }> {
  const start = Date.now();
  for (let day = 0; day < 3 * 365; day += 30) await sleep('30 days');
  return { elapsedDays: Math.round((Date.now() - start) / 86_400_000) };
}
