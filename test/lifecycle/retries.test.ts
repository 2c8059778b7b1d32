// Retried activities on the real time-skipping server: one certificate, one mail, however often an attempt fails.
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createCertificateActivities } from '../../activities/certificate-activities';
import { createRequestStore } from '../../activities/stores/requests';
import {
  downloadConfirmedSignal,
  reissueUpdate,
  requestRenewalUpdate,
  retrieveKeyUpdate,
  revokeUpdate,
  statusQuery,
  type CertificateStatus,
} from '../../workflows/definitions';
import { createTestDb } from '../support/db';
import { CountingCa, RecordingMailer } from '../support/lifecycle-fakes';
import { reserveRequest, startCertificate } from '../support/lifecycle-harness';
import { createTimeSkippingEnv } from '../support/temporal';

const DAY = 86_400_000;
const taskQueue = 'lifecycle-retries';

describe('the certificate workflow on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let testDb: Awaited<ReturnType<typeof createTestDb>>;
  let worker: Worker;
  let running: Promise<void>;
  let ca: CountingCa;
  let mailer: RecordingMailer;
  let userCount = 0;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    testDb = await createTestDb();
    ca = new CountingCa();
    mailer = new RecordingMailer();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      activities: createCertificateActivities({ db: testDb.db, ca, mailer }),
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
    await testDb?.destroy();
  });

  const start = () => startCertificate(env.client, testDb.db, taskQueue, `emp${String(++userCount).padStart(3, '0')}`);
  const status = (h: WorkflowHandle) => h.query(statusQuery);
  // Server time, not the wall clock: earlier tests have already skipped it ahead.
  const untilNoticeOf = async (s: CertificateStatus, daysBefore: number) => Date.parse(s.notAfter!) - daysBefore * DAY - (await env.currentTimeMs());
  const updateRejection = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (err: Error) => `${err.message}: ${(err.cause as Error | undefined)?.message ?? ''}`,
    );

  async function activate(handle: WorkflowHandle) {
    const retrieval = await handle.executeUpdate(retrieveKeyUpdate);
    await handle.signal(downloadConfirmedSignal);
    await env.sleep(1000);
    expect((await status(handle)).state).toBe('active');
    return retrieval;
  }

  it('when the signing activity loses its answer twice, then exactly one certificate is signed', async () => {
    const { handle, requestId } = await start();
    const before = ca.signatures;
    ca.loseNextAnswers = 2;
    const retrieval = await handle.executeUpdate(retrieveKeyUpdate);
    expect(ca.signatures - before).toBe(1);
    expect(ca.issued.get(requestId)?.serial).toBe(retrieval.serial);
  });

  it('when the mail activity fails twice, then the guide is delivered once', async () => {
    mailer.failNextSends = 2;
    const { handle, requestId } = await start();
    await env.sleep(60_000);
    expect(mailer.kinds(requestId)).toEqual(['userIdNotice', 'acquisitionGuide']);
    expect((await status(handle)).state).toBe('awaitingKeyRetrieval');
  });
});
