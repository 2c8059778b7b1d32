// A worker whose workflow cache holds 2 still drives 14 certificates through every path: Temporal remembers them,
// the worker replays each one evicted when its timer, update, signal or query wakes it.
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
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
import { reserveRequest } from '../support/lifecycle-harness';
import { startLifecycleFixture, type LifecycleFixture } from '../support/lifecycle-worker';

const DAY = 86_400_000;
const CACHE = 2;

// The cache is the worker's, not the database's: one database (SQLite) is enough to show it.
describe('a worker with a workflow cache of 2', () => {
  let f: LifecycleFixture;
  let env: TestWorkflowEnvironment;
  let mostCached = 0;
  let sampler: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    f = await startLifecycleFixture('lifecycle-small-cache', { database: 'sqlite', maxCachedWorkflows: CACHE });
    env = f.env;
    sampler = setInterval(() => (mostCached = Math.max(mostCached, f.worker.getStatus().numCachedWorkflows)), 5);
  });
  afterAll(async () => {
    clearInterval(sampler);
    await f?.stop();
  });

  const status = (h: WorkflowHandle) => h.query(statusQuery);
  const states = async (hs: WorkflowHandle[]) => Promise.all(hs.map(async (h) => (await status(h)).state));
  const untilMs = async (at: number) => Math.max(0, at - (await env.currentTimeMs()));

  it('still drives many certificates through every path: expiry unretrieved, lapsed download, active, revoke, reissue, renewal, T-30/T-7, expiry', async () => {
    const started: Array<Awaited<ReturnType<LifecycleFixture['start']>>> = [];
    for (let i = 0; i < 14; i++) started.push(await f.start());
    const handles: WorkflowHandle[] = started.map((s) => s.handle);
    const [unretrieved, lapsed, active] = [handles.slice(0, 2), handles.slice(2, 4), handles.slice(4)];
    const requestIdOf = (h: WorkflowHandle) => started[handles.indexOf(h)]!.requestId;
    const userIdOf = (h: WorkflowHandle) => `emp${String(handles.indexOf(h) + 1).padStart(3, '0')}`;

    // Twelve key retrievals at once against a cache of two: each update evicts another workflow.
    const firstRetrievals = await Promise.all([...lapsed, ...active].map((h) => h.executeUpdate(retrieveKeyUpdate)));
    await Promise.all(active.map((h) => h.signal(downloadConfirmedSignal)));
    await env.sleep(1000);
    expect(await states(active)).toEqual(active.map(() => 'active'));
    expect(await states(lapsed)).toEqual(['keyReady', 'keyReady']);
    expect(await states(unretrieved)).toEqual(['awaitingKeyRetrieval', 'awaitingKeyRetrieval']);

    // The lapsed downloads: keys destroyed at midnight in Tokyo, certificates withdrawn, a second retrieval signs anew.
    await env.sleep((await untilMs(Date.parse(firstRetrievals[0]!.downloadDeadline))) + 1000);
    expect(await states(lapsed)).toEqual(['awaitingKeyRetrieval', 'awaitingKeyRetrieval']);
    for (const [i, h] of lapsed.entries()) {
      expect(f.ca.destroyedKeys).toContain(requestIdOf(h));
      expect(f.ca.revoked).toContainEqual(expect.objectContaining({ serial: firstRetrievals[i]!.serial, reason: 'cessationOfOperation' }));
    }
    const second = await Promise.all(lapsed.map((h) => h.executeUpdate(retrieveKeyUpdate)));
    await Promise.all(lapsed.map((h) => h.signal(downloadConfirmedSignal)));
    await env.sleep(1000);
    expect(await states(lapsed)).toEqual(['active', 'active']);
    lapsed.forEach((h, i) => expect(f.ca.issued.get(`${requestIdOf(h)}.2`)?.serial).toBe(second[i]!.serial));

    // Never retrieved: each request expires at 30 days with its one mail.
    await env.sleep(30 * DAY);
    for (const h of unretrieved) {
      expect((await h.result()).state).toBe('requestExpired');
      expect(f.mailer.kinds(requestIdOf(h))).toEqual(['userIdNotice', 'acquisitionGuide', 'requestExpired']);
    }

    // Revoke one, reissue another (its successor activated), while the rest wait for their notices.
    const [revoked, reissued, renewed, ...expiring] = active;
    expect(await revoked!.executeUpdate(revokeUpdate, { args: [{ reason: 'keyCompromise', agent: 'admin-1' }] })).toMatchObject({ state: 'revoked' });
    const reissue = await reserveRequest(f.db, userIdOf(reissued!), 'reissue', { predecessorRequestId: requestIdOf(reissued!) });
    await reissued!.executeUpdate(reissueUpdate, { args: [{ successorRequestId: reissue.requestId, agent: 'support-1' }] });
    const reissuedSuccessor = env.client.workflow.getHandle(reissue.workflowId);
    await env.sleep(1000);
    await reissuedSuccessor.executeUpdate(retrieveKeyUpdate);
    await reissuedSuccessor.signal(downloadConfirmedSignal);
    await env.sleep(1000);
    expect((await status(reissuedSuccessor)).state).toBe('active');

    // Renewal at T-20 starts the successor and suppresses T-7.
    const renewedStatus: CertificateStatus = await status(renewed!);
    await env.sleep(await untilMs(Date.parse(renewedStatus.notAfter!) - 20 * DAY));
    const renewal = await reserveRequest(f.db, userIdOf(renewed!), 'renewal', { predecessorRequestId: requestIdOf(renewed!) });
    await renewed!.executeUpdate(requestRenewalUpdate, { args: [{ successorRequestId: renewal.requestId }] });
    expect(await status(renewed!)).toMatchObject({ state: 'renewed', successorWorkflowId: renewal.workflowId });
    expect(await status(env.client.workflow.getHandle(renewal.workflowId))).toMatchObject({ state: 'awaitingKeyRetrieval', kind: 'renewal' });

    // Past the last notAfter: every certificate left ends expired, with T-30 and T-7 sent once each.
    const lastNotAfter = Math.max(...(await Promise.all([...expiring, ...lapsed].map(async (h) => Date.parse((await status(h)).notAfter!)))));
    await env.sleep((await untilMs(lastNotAfter)) + DAY);
    for (const h of [...expiring, ...lapsed, renewed!]) expect((await h.result()).state).toBe('expired');
    for (const h of [...expiring, ...lapsed]) {
      const notices = f.mailer.delivered.filter((m) => m.requestId === requestIdOf(h) && m.kind === 'renewalNotice');
      expect(notices.map((m) => (m.mail as { daysBefore: number }).daysBefore)).toEqual([30, 7]);
    }
    expect(f.mailer.kinds(requestIdOf(renewed!)).filter((k) => k === 'renewalNotice')).toHaveLength(1);
    expect(await revoked!.result()).toMatchObject({ state: 'revoked', revocationReason: 'keyCompromise' });
    expect(f.mailer.kinds(requestIdOf(revoked!))).toContain('certificateRevoked');
    expect(await reissued!.result()).toMatchObject({ state: 'revoked', revocationReason: 'superseded' });
    expect((await status(reissuedSuccessor)).state).toBe('active');
    expect(f.mailer.kinds(renewal.requestId)).not.toContain('acquisitionGuide'); // renewed in the browser: no guide

    // One signature per issuance (10 active + 2 lapsed twice + the reissue), and the projection agrees with Temporal.
    expect(f.ca.signatures).toBe(15);
    const requests = createRequestStore(f.db);
    expect((await requests.find(requestIdOf(expiring[0]!)))?.status).toBe('expired');
    expect((await requests.find(reissue.requestId))?.status).toBe('active');
    // The cache never held more than two workflows, while fourteen and more were open at once.
    expect(mostCached).toBeGreaterThan(0);
    expect(mostCached).toBeLessThanOrEqual(CACHE);
  });
});
