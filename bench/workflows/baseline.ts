// The Temporal baseline of bench:lifecycle: one workflow, one no-op activity, nothing else.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export async function baselineWorkflow(): Promise<void> {
  await noop();
}
