// A time-skipping server with a worker running the real certificate activities over a fresh database (SQLite or
// PostgreSQL) and the counting CA / recording mailer doubles: the fixture of the workflow path tests.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createCertificateActivities } from '../../activities/certificate-activities';
import { createRequestStore } from '../../stores/requests';
import { createUserStore } from '../../stores/users';
import type { Db } from '../../infra/db';
import { createTestDatabase, type DatabaseKind } from './databases';
import { CountingCa, RecordingMailer } from './lifecycle-fakes';
import { startCertificate } from './lifecycle-harness';
import { createTimeSkippingEnv } from './temporal';
import { combineWorkers, createMailWorker, workflowTaskSlots, type CertflowWorker } from '../../worker/worker';

export interface LifecycleFixture {
  database: DatabaseKind;
  /** The fixture's own server: workflow IDs come from per-database request IDs, so fixtures never share one. */
  env: TestWorkflowEnvironment;
  db: Db;
  ca: CountingCa;
  mailer: RecordingMailer;
  worker: CertflowWorker;
  /** Registers a new user and starts the workflow of their first request. */
  start(): ReturnType<typeof startCertificate>;
  lastUserId(): string;
  stop(): Promise<void>;
}

// Bundled once per test file, which starts a fixture per database: webpack takes seconds of CPU each time.
let workflowBundle: Promise<WorkflowBundle> | undefined;

export async function startLifecycleFixture(
  taskQueue: string,
  { database, maxCachedWorkflows }: { database: DatabaseKind; maxCachedWorkflows?: number },
): Promise<LifecycleFixture> {
  const env = await createTimeSkippingEnv();
  const testDb = await createTestDatabase(database);
  const ca = new CountingCa();
  const mailer = new RecordingMailer();
  const activities = createCertificateActivities({ requests: createRequestStore(testDb.db), users: createUserStore(testDb.db), ca, mailer });
  const workflows = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await (workflowBundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows') })),
    activities,
    // As createCertflowWorker sizes it from CERTFLOW_WORKFLOW_CACHE_SIZE.
    maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: workflowTaskSlots(maxCachedWorkflows),
  });
  // Mail goes to its own queue, as in every certflow process.
  const worker = combineWorkers(workflows, await createMailWorker({ connection: env.nativeConnection, taskQueue, sendLifecycleMails: activities.sendLifecycleMails }));
  const running = worker.run();
  let userCount = 0;
  const userId = () => `emp${String(userCount).padStart(3, '0')}`;
  return {
    database,
    env,
    db: testDb.db,
    ca,
    mailer,
    worker,
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
