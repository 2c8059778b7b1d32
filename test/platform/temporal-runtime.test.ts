// The Temporal SDK's runtime as certflow installs it: its own worker metrics on their own port, its logs in certflow's
// logger. Runtime.install works once per runtime singleton, so this file installs it once, before anything Temporal.
// The singleton lives in this file's module registry: test files that follow in the same jest worker build their own
// default runtime and are not affected (checked with jest -i, this file first).
import { Writable } from 'node:stream';
import { startOpsServer, temporalCheck } from '../../api/ops';
import { createMailOutboxStore } from '../../engines/mail';
import { ping } from '../../infra/db';
import { createLogger } from '../../infra/logger';
import { createMetrics } from '../../infra/metrics';
import { freePort } from '../../infra/ports';
import { installTemporalRuntime } from '../../worker/temporal-runtime';
import { statusQuery } from '../../workflows/definitions';
import { startLifecycleFixture, type LifecycleFixture } from '../support/lifecycle-worker';
import { valueOf } from '../support/metrics';

describe("the Temporal SDK's runtime", () => {
  const taskQueue = 'temporal-runtime-metrics';
  const lines: string[] = [];
  const logger = createLogger('info', new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
  let metricsAddress: string;
  let fixture: LifecycleFixture;

  beforeAll(async () => {
    metricsAddress = `127.0.0.1:${await freePort()}`;
    installTemporalRuntime({ metricsAddress, logger });
    fixture = await startLifecycleFixture(taskQueue, { database: 'sqlite' });
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  it('when it is installed a second time in the same process, then the SDK refuses', () => {
    expect(() => installTemporalRuntime({ logger })).toThrow(/already been installed/);
  });

  it("when a worker runs a certificate workflow, then the SDK's endpoint shows the worker's start and its successful polls, and its logs are in certflow's logger", async () => {
    const { handle } = await fixture.start();
    await waitUntil(async () => (await handle.query(statusQuery)).state === 'awaitingKeyRetrieval');
    const text = await waitUntil(async () => {
      const res = await fetch(`http://${metricsAddress}/metrics`);
      const body = await res.text();
      return (valueOf(body, 'temporal_workflow_task_queue_poll_succeed', { task_queue: taskQueue }) ?? 0) >= 1 && body;
    });
    expect(valueOf(text, 'temporal_worker_start', { task_queue: taskQueue, namespace: 'default' })).toBe(1);
    expect(valueOf(text, 'temporal_activity_execution_latency_count', { task_queue: taskQueue })).toBeGreaterThanOrEqual(1);
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; taskQueue?: string; service: string });
    expect(logged).toContainEqual(expect.objectContaining({ msg: 'Worker state changed', taskQueue, service: 'certflow' }));
  });

  it("when a worker-only process serves its ops routes, then /readyz checks Temporal over the worker's NativeConnection and /metrics reads its outbox", async () => {
    const metrics = createMetrics({ pendingMails: () => createMailOutboxStore(fixture.db).countPending(), crls: async () => [] });
    const ops = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      logger,
      registry: metrics.registry,
      checks: { temporal: temporalCheck(fixture.env.nativeConnection), database: () => ping(fixture.db) },
    });
    try {
      const ready = await fetch(`${ops.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'up', checks: { temporal: { status: 'up' }, database: { status: 'up' } } });
      expect(valueOf(await (await fetch(`${ops.url}/metrics`)).text(), 'certflow_mail_outbox_pending')).toBe(0);
    } finally {
      await ops.close();
    }
  });
});

async function waitUntil<T>(probe: () => Promise<T | false>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => false as const);
    if (value) return value;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}
