// Every path of the certificate workflow on the real time-skipping server, three years of workflow time each.
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Db } from '../../infra/db';
import { createRequestStore } from '../../stores/requests';
import {
  downloadConfirmedSignal,
  reissueUpdate,
  requestRenewalUpdate,
  retrieveKeyUpdate,
  revokeUpdate,
  statusQuery,
  type CertificateStatus,
} from '../../workflows/definitions';
import { DATABASE_KINDS } from '../support/databases';
import { historySlug, recordingDir, writeHistory } from '../support/recorded-histories';
import type { CountingCa, RecordingMailer } from '../support/lifecycle-fakes';
import { reserveRequest } from '../support/lifecycle-harness';
import { startLifecycleFixture, type LifecycleFixture } from '../support/lifecycle-worker';

const DAY = 86_400_000;

describe.each(DATABASE_KINDS)('the certificate workflow on the time-skipping server on %s', (database) => {
  let f: LifecycleFixture;
  let env: TestWorkflowEnvironment;
  let ca: CountingCa;
  let mailer: RecordingMailer;
  let db: Db;

  beforeAll(async () => {
    f = await startLifecycleFixture(`lifecycle-paths-${database}`, { database });
    ({ env, ca, mailer, db } = f);
  });

  // CERTFLOW_RECORD_HISTORIES records histories (test/support/recorded-histories.ts) the replay test runs against today's code;
  // from the SQLite run only, as the histories do not depend on the database.
  const recorded = new Map<string, string[]>();
  afterEach(() => {
    const name = expect.getState().currentTestName ?? 'unnamed';
    recorded.set(name, startedWorkflowIds.splice(0));
  });

  afterAll(async () => {
    const dir = database === 'sqlite' ? recordingDir() : undefined;
    if (dir) {
      let index = 0;
      for (const [name, ids] of recorded) {
        index += 1;
        const slug = historySlug(name, /^the certificate workflow on the time-skipping server on \w+ /);
        for (const id of ids) await writeHistory(env.client, dir, `${String(index).padStart(2, '0')}-${slug}`, id);
      }
    }
    await f?.stop();
  });

  const startedWorkflowIds: string[] = [];
  const start = async () => {
    const started = await f.start();
    startedWorkflowIds.push(started.workflowId);
    return started;
  };
  const status = (h: WorkflowHandle) => h.query(statusQuery);
  // Server time, not the wall clock: earlier tests have already skipped it ahead.
  const untilNoticeOf = async (s: CertificateStatus, daysBefore: number) => Date.parse(s.notAfter!) - daysBefore * DAY - (await env.currentTimeMs());
  // The refusal's message, and its code as the failure's type: `… : key retrieval is not possible: … [keyAlreadyRetrieved]`.
  const updateRejection = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (err: Error) => {
        const cause = err.cause as (Error & { type?: string }) | undefined;
        return `${err.message}: ${cause?.message ?? ''} [${cause?.type ?? ''}]`;
      },
    );

  async function activate(handle: WorkflowHandle) {
    const retrieval = await handle.executeUpdate(retrieveKeyUpdate);
    await handle.signal(downloadConfirmedSignal);
    await env.sleep(1000);
    expect((await status(handle)).state).toBe('active');
    return retrieval;
  }

  it('when nobody retrieves the key for 30 days, then the request expires with one mail', async () => {
    const { handle, requestId } = await start();
    await env.sleep(29 * DAY);
    expect((await status(handle)).state).toBe('awaitingKeyRetrieval');
    await env.sleep(2 * DAY);
    const final = await handle.result();
    expect(final.state).toBe('requestExpired');
    expect(mailer.kinds(requestId)).toEqual(['userIdNotice', 'acquisitionGuide', 'requestExpired']);
    expect((await createRequestStore(db).find(requestId))?.status).toBe('requestExpired');
    await expect(handle.executeUpdate(retrieveKeyUpdate)).rejects.toThrow(); // the workflow has ended
  });

  it('when the user retrieves the key and downloads it, then the certificate is active and its key destroyed', async () => {
    const { handle, requestId } = await start();
    const retrieval = await handle.executeUpdate(retrieveKeyUpdate);
    expect(Date.parse(retrieval.notAfter) - Date.parse(retrieval.notBefore)).toBeGreaterThanOrEqual(3 * 365 * DAY);
    expect((await status(handle)).state).toBe('keyReady');
    await handle.signal(downloadConfirmedSignal);
    await env.sleep(1000);
    const s = await status(handle);
    expect(s).toMatchObject({ state: 'active', serial: retrieval.serial });
    expect(s.refusalReason).toBeUndefined();
    expect(ca.destroyedKeys).toContain(requestId);
    const row = await createRequestStore(db).find(requestId);
    expect(row).toMatchObject({ status: 'active', serial: retrieval.serial });
    expect(row?.notAfter?.toISOString()).toBe(retrieval.notAfter);
  });

  it('when the key is not downloaded the same day (Tokyo), then it is destroyed, the certificate withdrawn, and the request waits again', async () => {
    const { handle, requestId } = await start();
    const first = await handle.executeUpdate(retrieveKeyUpdate);
    const deadline = Date.parse(first.downloadDeadline);
    expect(new Date(deadline + 1).toISOString()).toMatch(/T15:00:00\.000Z$/); // midnight in Tokyo
    await env.sleep(deadline - (await env.currentTimeMs()) + 1000);
    expect((await status(handle)).state).toBe('awaitingKeyRetrieval');
    expect(ca.destroyedKeys).toContain(requestId);
    expect(ca.revoked).toContainEqual(expect.objectContaining({ serial: first.serial, reason: 'cessationOfOperation' }));
    const second = await handle.executeUpdate(retrieveKeyUpdate);
    expect(second.serial).not.toBe(first.serial);
    expect(ca.issued.get(`${requestId}.2`)?.serial).toBe(second.serial);
  });

  it('when an active certificate nears its end, then T-30 and T-7 notices go exactly once each and it expires at three years', async () => {
    const { handle, requestId } = await start();
    await activate(handle);
    let s = await status(handle);
    await env.sleep((await untilNoticeOf(s, 30)) + 3_600_000);
    expect(mailer.kinds(requestId).filter((k) => k === 'renewalNotice')).toHaveLength(1);
    s = await status(handle);
    await env.sleep((await untilNoticeOf(s, 7)) + 3_600_000);
    const notices = mailer.delivered.filter((m) => m.requestId === requestId && m.kind === 'renewalNotice');
    expect(notices.map((m) => (m.mail as { daysBefore: number }).daysBefore)).toEqual([30, 7]);
    expect((await status(handle)).renewalNoticesSent).toEqual([30, 7]);
    const final = await handle.result();
    expect(final.state).toBe('expired');
    expect(final.refusalReason).toBe('the certificate has expired');
    expect(mailer.kinds(requestId).filter((k) => k === 'renewalNotice')).toHaveLength(2);
  });

  it('when renewal is asked before T-30 it is refused; at T-20 it starts the successor, suppresses T-7, and the old one stays valid to its end', async () => {
    const { handle, requestId, workflowId } = await start();
    await activate(handle);
    const successor = await reserveRequest(db, f.lastUserId(), 'renewal', { predecessorRequestId: requestId });
    expect(await updateRejection(handle.executeUpdate(requestRenewalUpdate, { args: [{ successorRequestId: successor.requestId }] }))).toMatch(
      /renewal opens on .*, 30 days before expiry \[renewalNotOpen\]$/,
    );
    await env.sleep(await untilNoticeOf(await status(handle), 20));
    const result = await handle.executeUpdate(requestRenewalUpdate, { args: [{ successorRequestId: successor.requestId }] });
    startedWorkflowIds.push(result.workflowId);
    expect(result.workflowId).toBe(successor.workflowId);
    const next = env.client.workflow.getHandle(successor.workflowId);
    expect(await status(next)).toMatchObject({ state: 'awaitingKeyRetrieval', kind: 'renewal', predecessorWorkflowId: workflowId });
    expect(await status(handle)).toMatchObject({ state: 'renewed', successorWorkflowId: successor.workflowId });
    expect((await status(handle)).refusalReason).toBeUndefined();
    await env.sleep(await untilNoticeOf(await status(handle), 1));
    expect(mailer.kinds(requestId).filter((k) => k === 'renewalNotice')).toHaveLength(1); // T-30 only
    expect(mailer.kinds(successor.requestId)).toEqual([]); // the user renews in the browser: no guide mails
    expect((await status(handle)).state).toBe('renewed');
    expect(ca.revoked.map((r) => r.serial)).not.toContain((await status(handle)).serial);
    expect((await handle.result()).state).toBe('expired');
  });

  it('when support reissues, then the old certificate is revoked (superseded) at once and the successor starts with its guide', async () => {
    const { handle, requestId, workflowId } = await start();
    const { serial } = await activate(handle);
    const successor = await reserveRequest(db, f.lastUserId(), 'reissue', { predecessorRequestId: requestId });
    expect(await updateRejection(handle.executeUpdate(retrieveKeyUpdate))).toMatch(/key retrieval is not possible: the request is active \[keyAlreadyRetrieved\]$/);
    const result = await handle.executeUpdate(reissueUpdate, { args: [{ successorRequestId: successor.requestId, agent: 'support-1' }] });
    startedWorkflowIds.push(result.workflowId);
    expect(result.requestId).toBe(successor.requestId);
    expect(ca.revoked).toContainEqual(expect.objectContaining({ serial, reason: 'superseded' }));
    const final = await handle.result();
    expect(final).toMatchObject({ state: 'revoked', revocationReason: 'superseded', successorWorkflowId: successor.workflowId });
    const next = env.client.workflow.getHandle(successor.workflowId);
    await env.sleep(1000);
    expect(await status(next)).toMatchObject({ state: 'awaitingKeyRetrieval', kind: 'reissue', predecessorWorkflowId: workflowId });
    expect(mailer.kinds(successor.requestId)).toEqual(['reissueReady', 'acquisitionGuide']);
    expect(mailer.kinds(requestId)).not.toContain('certificateRevoked');
    // The successor is valid three years from the reissue.
    const reissued = await next.executeUpdate(retrieveKeyUpdate);
    expect(Date.parse(reissued.notBefore)).toBeGreaterThan(Date.parse(final.notBefore!));
  });

  it('when an admin revokes, then the certificate is revoked with the reason, the user is told, and a second revoke is refused', async () => {
    const { handle, requestId } = await start();
    const { serial } = await activate(handle);
    const revoked = await handle.executeUpdate(revokeUpdate, { args: [{ reason: 'keyCompromise', agent: 'admin-1' }] });
    expect(revoked).toMatchObject({ state: 'revoked', revocationReason: 'keyCompromise' });
    expect(revoked.refusalReason).toMatch(/revoked/);
    expect(ca.revoked).toContainEqual(expect.objectContaining({ serial, reason: 'keyCompromise' }));
    await handle.result();
    expect(mailer.kinds(requestId)).toContain('certificateRevoked');
    await expect(handle.executeUpdate(revokeUpdate, { args: [{ reason: 'keyCompromise', agent: 'admin-1' }] })).rejects.toThrow();
  });
});
