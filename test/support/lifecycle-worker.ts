// A time-skipping server with a worker running the real certificate activities over a fresh database and the
// counting CA / recording mailer doubles: the fixture of the workflow path tests.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createCertificateActivities } from '../../activities/certificate-activities';
import { createRequestStore } from '../../stores/requests';
import { createUserStore } from '../../stores/users';
import { createTestDb } from './db';
import { CountingCa, RecordingMailer } from './lifecycle-fakes';
import { startCertificate } from './lifecycle-harness';
import { createTimeSkippingEnv } from './temporal';

export interface LifecycleFixture {
  env: TestWorkflowEnvironment;
  db: Awaited<ReturnType<typeof createTestDb>>['db'];
  ca: CountingCa;
  mailer: RecordingMailer;
  /** Registers a new user and starts the workflow of their first request. */
  start(): ReturnType<typeof startCertificate>;
  lastUserId(): string;
  stop(): Promise<void>;
}

export async function startLifecycleFixture(taskQueue: string): Promise<LifecycleFixture> {
  const env = await createTimeSkippingEnv();
  const testDb = await createTestDb();
  const ca = new CountingCa();
  const mailer = new RecordingMailer();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: createCertificateActivities({ requests: createRequestStore(testDb.db), users: createUserStore(testDb.db), ca, mailer }),
  });
  const running = worker.run();
  let userCount = 0;
  const userId = () => `emp${String(userCount).padStart(3, '0')}`;
  return {
    env,
    db: testDb.db,
    ca,
    mailer,
    start() {
      userCount += 1;
      return startCertificate(env.client, testDb.db, taskQueue, userId());
    },
    lastUserId: userId,
    async stop() {
      worker.shutdown();
      await running;
      await env.teardown();
      await testDb.destroy();
    },
  };
}
