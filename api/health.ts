// GET /healthz: an honest report of what certflow depends on, 200 only when all of it answers.
import { Router } from 'express';
import type { Connection } from '@temporalio/client';
import { ping, type Db } from '../infra/db';

export interface HealthDeps {
  db: Db;
  temporal: Connection;
  timeoutMs?: number;
}

type CheckResult = { status: 'up' } | { status: 'down'; reason: string };

export function healthRouter({ db, temporal, timeoutMs = 2000 }: HealthDeps): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    const [temporalCheck, databaseCheck] = await Promise.all([
      check(() => temporal.withDeadline(Date.now() + timeoutMs, () => temporal.workflowService.getSystemInfo({}))),
      check(() => withTimeout(ping(db), timeoutMs)),
    ]);
    const checks = { temporal: temporalCheck, database: databaseCheck };
    const down = Object.entries(checks).filter(([, c]) => c.status === 'down').map(([name]) => name);
    res.status(down.length ? 503 : 200).json({ status: down.length ? `down: ${down.join(', ')}` : 'up', checks });
  });
  return router;
}

async function check(probe: () => Promise<unknown>): Promise<CheckResult> {
  try {
    await probe();
    return { status: 'up' };
  } catch (err) {
    return { status: 'down', reason: ((err as Error).message ?? String(err)).split('\n')[0].slice(0, 200) };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
