// The imported path of the certificate workflow on the time-skipping server: a previous CA's certificate starts in
// active (no key, no guide mails), gets its T-30 and T-7 notices, expires at its notAfter, is revoked in certflow only,
// and renews into an ordinary renewal request. CERTFLOW_RECORD_HISTORIES=1 records these histories (10- onwards) for
// replay.test.ts, without touching the 9 recorded by workflow-paths.test.ts.
import type { WorkflowHandle } from '@temporalio/client';
import { createRequestStore } from '../../stores/requests';
import {
  CertStatus,
  requestRenewalUpdate,
  retrieveKeyUpdate,
  revokeUpdate,
  statusQuery,
  type CertificateWorkflowInput,
} from '../../workflows/definitions';
import { historySlug, recordingDir, writeHistory } from '../support/recorded-histories';
import { registerTestUser, reserveRequest, THREE_YEAR_POLICY } from '../support/lifecycle-harness';
import { startLifecycleFixture, type LifecycleFixture } from '../support/lifecycle-worker';

const DAY = 86_400_000;
const TASK_QUEUE = 'lifecycle-imported';
const FIRST_HISTORY_INDEX = 10;

describe('an imported certificate’s workflow on the time-skipping server', () => {
  let f: LifecycleFixture;
  let users = 0;
  const recorded = new Map<string, string[]>();
  const started: string[] = [];

  beforeAll(async () => {
    f = await startLifecycleFixture(TASK_QUEUE, { database: 'sqlite' });
  });

  afterEach(() => {
    recorded.set(expect.getState().currentTestName ?? 'unnamed', started.splice(0));
  });

  afterAll(async () => {
    const dir = recordingDir();
    if (dir) {
      let index = FIRST_HISTORY_INDEX - 1;
      for (const [name, ids] of recorded) {
        index += 1;
        const slug = historySlug(name, /^an imported certificate’s workflow on the time-skipping server /);
        for (const id of ids) await writeHistory(f.env.client, dir, `${index}-${slug}`, id);
      }
    }
    await f?.stop();
  });

  /** Starts an imported request as importCertificate does: user, reserved row of kind imported, workflow with the facts. */
  async function startImported(daysLeft: number) {
    users += 1;
    const userId = `imp${String(users).padStart(3, '0')}`;
    await registerTestUser(f.db, userId);
    const { requestId, workflowId } = await reserveRequest(f.db, userId, 'imported');
    const now = await f.env.currentTimeMs();
    const imported = { serial: `7e${String(users).padStart(6, '0')}`, notBefore: new Date(now - 700 * DAY).toISOString(), notAfter: new Date(now + daysLeft * DAY).toISOString() };
    const input: CertificateWorkflowInput = { requestId, profile: 'kdanshinnet', userId, kind: 'imported', policy: THREE_YEAR_POLICY, imported };
    const handle = await f.env.client.workflow.start('certificateWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [input] });
    started.push(workflowId);
    return { handle, requestId, userId, imported };
  }

  const status = (h: WorkflowHandle) => h.query(statusQuery);
  const untilNotice = async (notAfter: string, daysBefore: number) => Date.parse(notAfter) - daysBefore * DAY - (await f.env.currentTimeMs());

  it('when imported 60 days before its end, then it is active at once with no mail and no key, gets T-30 and T-7 notices and expires at its notAfter', async () => {
    const { handle, requestId, imported } = await startImported(60);
    await f.env.sleep(1000);
    expect(await status(handle)).toMatchObject({ state: 'active', kind: 'imported', serial: imported.serial, notAfter: imported.notAfter, renewalNoticesSent: [] });
    expect((await handle.describe()).typedSearchAttributes.get(CertStatus)).toBe('active');
    expect(await createRequestStore(f.db).find(requestId)).toMatchObject({ status: 'active', kind: 'imported', serial: imported.serial });
    expect(f.mailer.kinds(requestId)).toEqual([]);
    const refused = await handle.executeUpdate(retrieveKeyUpdate).catch((err: Error) => (err.cause as Error & { type?: string }).type);
    expect(refused).toBe('keyAlreadyRetrieved');

    await f.env.sleep((await untilNotice(imported.notAfter, 30)) + 3_600_000);
    expect(f.mailer.kinds(requestId)).toEqual(['renewalNotice']);
    await f.env.sleep((await untilNotice(imported.notAfter, 7)) + 3_600_000);
    const notices = f.mailer.delivered.filter((m) => m.requestId === requestId);
    expect(notices.map((m) => m.mail)).toEqual([
      { kind: 'renewalNotice', daysBefore: 30, notBefore: imported.notBefore, notAfter: imported.notAfter },
      { kind: 'renewalNotice', daysBefore: 7, notBefore: imported.notBefore, notAfter: imported.notAfter },
    ]);
    const final = await handle.result();
    expect(final).toMatchObject({ state: 'expired', refusalReason: 'the certificate has expired' });
    expect(await f.env.currentTimeMs()).toBeGreaterThanOrEqual(Date.parse(imported.notAfter));
    expect((await createRequestStore(f.db).find(requestId))?.status).toBe('expired');
    expect([...f.ca.issued.keys()].filter((k) => k.startsWith(requestId))).toEqual([]);
  });

  it('when support revokes an imported certificate, then certflow records it revoked and tells the user, without asking certflow’s CA', async () => {
    const { handle, requestId, imported } = await startImported(200);
    await f.env.sleep(1000);
    const revoked = await handle.executeUpdate(revokeUpdate, { args: [{ reason: 'keyCompromise', agent: 'admin-1' }] });
    expect(revoked).toMatchObject({ state: 'revoked', revocationReason: 'keyCompromise', refusalReason: 'the certificate is revoked (keyCompromise)' });
    await handle.result();
    // certflow's CA never signed it, so certflow's CRL cannot list it; the previous CA's CRL is not certflow's to sign.
    expect(f.ca.revoked.map((r) => r.serial)).not.toContain(imported.serial);
    expect(f.mailer.kinds(requestId)).toEqual(['certificateRevoked']);
    expect(await createRequestStore(f.db).find(requestId)).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
  });

  it('when an imported certificate 20 days from its end is renewed, then only T-7 is skipped and the successor is an ordinary renewal signed by certflow', async () => {
    const { handle, requestId, userId, imported } = await startImported(20);
    await f.env.sleep(1000);
    const successor = await reserveRequest(f.db, userId, 'renewal', { predecessorRequestId: requestId });
    const result = await handle.executeUpdate(requestRenewalUpdate, { args: [{ successorRequestId: successor.requestId }] });
    started.push(result.workflowId);
    expect(await status(handle)).toMatchObject({ state: 'renewed', successorWorkflowId: successor.workflowId });
    const next = f.env.client.workflow.getHandle(successor.workflowId);
    expect(await status(next)).toMatchObject({ state: 'awaitingKeyRetrieval', kind: 'renewal', predecessorWorkflowId: handle.workflowId });
    const issued = await next.executeUpdate(retrieveKeyUpdate);
    expect(f.ca.issued.get(successor.requestId)?.serial).toBe(issued.serial);
    expect(issued.serial).not.toBe(imported.serial);
    // T-30 had passed when it was imported; T-7 is suppressed by the renewal.
    await f.env.sleep((await untilNotice(imported.notAfter, 1)));
    expect(f.mailer.kinds(requestId)).toEqual([]);
    expect((await handle.result()).state).toBe('expired');
  });
});
