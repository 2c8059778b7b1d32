// A user's timeline: the chain of requests per profile with dates, serials and revocations, each request's mails from
// the outbox, the audit entries about the user or its requests, and the portal's verdict now.
import { userTimeline } from '../../domain';
import type { CertificateStatus } from '../../workflows/definitions';
import { forEachDatabase } from '../support/databases';
import { createDomainFixture, issueFor, type DomainFixture } from '../support/domain-fixture';

const DAY = 86_400_000;

forEachDatabase('the user timeline', (database) => {
  let f: DomainFixture;
  const at = (days: number) => new Date(f.now.getTime() + days * DAY);
  beforeAll(async () => { f = await createDomainFixture(database.db); });
  afterAll(() => f.close());

  test('when a user renewed and the renewal waits for its key, then the chain, the mails, the audit and the renewed certificate\'s admission show', async () => {
    await f.addUser('tl001');
    const first = await issueFor(f, { userId: 'tl001', requestId: '202611250000101', notBefore: at(-1000), notAfter: at(20) });
    const { workflowId: firstWorkflow } = await f.addRequest({ userId: 'tl001', requestId: '202611250000101', createdAt: at(-1001),
      snapshot: { state: 'renewed', serial: first.serial, notBefore: at(-1000).toISOString(), notAfter: at(20).toISOString(), guideExpiresAt: at(-971).toISOString(), successorRequestId: '202611250000102' } });
    const { workflowId: renewalWorkflow } = await f.addRequest({ userId: 'tl001', requestId: '202611250000102', kind: 'renewal', predecessorRequestId: '202611250000101', createdAt: at(-2),
      snapshot: { state: 'awaitingKeyRetrieval', guideExpiresAt: at(28).toISOString() } });
    const mail = (key: string, kind: 'acquisitionGuide' | 'renewalNotice') => ({ key, kind, recipient: 'tl001@bank.example.co.jp', subject: 's', messageId: `<${key}>` });
    await f.outbox.enqueue(mail(`${firstWorkflow}:acquisition-guide`, 'acquisitionGuide'));
    await f.outbox.markSent(`${firstWorkflow}:acquisition-guide`, '250 ok');
    await f.outbox.enqueue(mail(`${firstWorkflow}:renewal-notice-30`, 'renewalNotice'));
    await f.outbox.markFailed(`${firstWorkflow}:renewal-notice-30`, '550 5.1.1 no such user');
    await f.stores.audit.record({ agent: 'sato', role: 'support', action: 'unlock', target: 'user:tl001', outcome: 'ok' }, at(-3));
    await f.stores.audit.record({ agent: 'sato', role: 'support', action: 'passwordReset', target: 'request:202611250000102', outcome: 'ok' }, at(-1));
    await f.stores.audit.record({ agent: 'sato', role: 'support', action: 'unlock', target: 'user:tl0011', outcome: 'ok' }, at(-1));
    // A running workflow answers with its own status; the renewal's says it has no certificate yet.
    f.live.set(renewalWorkflow, { state: 'awaitingKeyRetrieval', refusalReason: 'no certificate has been issued for this request yet' } as CertificateStatus);

    const [timeline, ...others] = await userTimeline(f.deps, 'tl001');
    expect(others).toEqual([]);
    expect(timeline).toMatchObject({ profile: 'kdanshinnet', user: { userId: 'tl001', email: 'tl001@bank.example.co.jp' }, currentRequestId: '202611250000102' });
    expect(timeline!.requests).toEqual([
      expect.objectContaining({ requestId: '202611250000101', kind: 'new', status: 'renewed', workflowId: firstWorkflow, serial: first.serial, notAfter: at(20), successorRequestId: '202611250000102', createdAt: at(-1001) }),
      expect.objectContaining({ requestId: '202611250000102', kind: 'renewal', status: 'awaitingKeyRetrieval', workflowId: renewalWorkflow, predecessorRequestId: '202611250000101', guideExpiresAt: at(28), mails: [] }),
    ]);
    expect(timeline!.requests[0]!.mails).toEqual([
      expect.objectContaining({ event: 'acquisition-guide', kind: 'acquisitionGuide', status: 'sent', attempts: 0, lastError: null, sentAt: expect.any(Date) }),
      expect.objectContaining({ event: 'renewal-notice-30', kind: 'renewalNotice', status: 'failed', lastError: '550 5.1.1 no such user', sentAt: null }),
    ]);
    expect(timeline!.audit.map((e) => `${e.action} ${e.target}`)).toEqual(['passwordReset request:202611250000102', 'unlock user:tl001']);
    expect(timeline!.portal).toEqual({ admitted: true, serial: first.serial, requestId: '202611250000101' });
    expect(JSON.stringify(timeline)).not.toMatch(/argon2|enrollmentPasswordHash/);
  });

  test('when the current request is revoked (closed workflow) or refused by its running workflow, then the verdict gives the reason', async () => {
    await f.addUser('tl002', { profile: 'nissay' });
    const cert = await issueFor(f, { userId: 'tl002', profile: 'nissay', requestId: '202611250000201', notBefore: at(-10), notAfter: at(1000) });
    await f.deps.ca.revoke({ serial: cert.serial, reason: 'keyCompromise', revokedAt: at(-1) });
    await f.addRequest({ userId: 'tl002', profile: 'nissay', requestId: '202611250000201',
      snapshot: { state: 'revoked', serial: cert.serial, revocationReason: 'keyCompromise', notAfter: at(1000).toISOString(), guideExpiresAt: at(20).toISOString() } });
    let [timeline] = await userTimeline(f.deps, 'tl002');
    expect(timeline!.requests[0]).toMatchObject({ status: 'revoked', revokedAt: at(-1), revocationReason: 'keyCompromise' });
    expect(timeline!.portal).toEqual({ admitted: false, reason: 'the certificate is revoked', requestId: '202611250000201' });

    await f.addUser('tl003');
    const active = await issueFor(f, { userId: 'tl003', requestId: '202611250000301', notBefore: at(-10), notAfter: at(1000) });
    const { workflowId } = await f.addRequest({ userId: 'tl003', requestId: '202611250000301',
      snapshot: { state: 'active', serial: active.serial, notAfter: at(1000).toISOString(), guideExpiresAt: at(20).toISOString() } });
    [timeline] = await userTimeline(f.deps, 'tl003');
    expect(timeline!.portal).toEqual({ admitted: true, serial: active.serial, requestId: '202611250000301' });
    f.live.set(workflowId, { state: 'active', serial: active.serial, refusalReason: 'the certificate has expired' } as CertificateStatus);
    [timeline] = await userTimeline(f.deps, 'tl003');
    expect(timeline!.portal).toEqual({ admitted: false, reason: 'the certificate has expired', requestId: '202611250000301' });
  });

  test('when the user is unknown, then notFound', async () => {
    await expect(userTimeline(f.deps, 'nobody')).rejects.toMatchObject({ code: 'notFound' });
  });
});
