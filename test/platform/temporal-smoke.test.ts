import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnv } from '../support/temporal';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

describe('the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => { env = await createTimeSkippingEnv(); });
  afterAll(async () => { await env?.teardown(); });

  it('when a workflow sleeps three years, then it completes in seconds of wall time', async () => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'smoke',
      workflowsPath: require.resolve('./workflows/three-years'),
    });
    const started = Date.now();
    const result = await worker.runUntil(
      env.client.workflow.execute('threeYears', { taskQueue: 'smoke', workflowId: 'smoke-three-years' }),
    );
    expect(result.elapsedDays).toBeGreaterThanOrEqual(3 * 365);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
