// The console's finds and lists as use cases: input checked with a named field, days counted from the business clock.
import { listAuditTrail, listAwaitingRetrieval, listExpiringCertificates, Refusal, searchRequests } from '../../domain';
import { forEachDatabase } from '../support/databases';
import { createDomainFixture, type DomainFixture } from '../support/domain-fixture';

const DAY = 86_400_000;

forEachDatabase('the support search use cases', (database) => {
  let f: DomainFixture;
  const iso = (days: number) => new Date(f.now.getTime() + days * DAY).toISOString();
  beforeAll(async () => {
    f = await createDomainFixture(database.db);
    await f.addUser('emp010', { email: 'Hanako@Bank.example.co.jp' });
    await f.addRequest({ userId: 'emp010', requestId: '202611250000010', createdAt: new Date(f.now.getTime() - 40 * DAY),
      snapshot: { state: 'active', serial: 'abcdef01', notBefore: iso(-39), notAfter: iso(30), guideExpiresAt: iso(-10) } });
    await f.addUser('emp011');
    await f.addRequest({ userId: 'emp011', requestId: '202611250000011', createdAt: new Date(f.now.getTime() - 8 * DAY), snapshot: { state: 'awaitingKeyRetrieval', guideExpiresAt: iso(22) } });
    await f.addUser('emp012');
    await f.addRequest({ userId: 'emp012', requestId: '202611250000012', createdAt: new Date(f.now.getTime() - 2 * DAY), snapshot: { state: 'keyReady', serial: '02', notAfter: iso(1000), guideExpiresAt: iso(28) } });
  });
  afterAll(() => f.close());

  test('when searching, then a serial with colons and a mail in another case are found; bad input is refused naming its field', async () => {
    expect((await searchRequests(f.deps, { text: 'AB:CD:EF:01' })).map((r) => r.userId)).toEqual(['emp010']);
    expect((await searchRequests(f.deps, { text: 'hanako@', field: 'email' })).map((r) => r.requestId)).toEqual(['202611250000010']);
    const refused = async (input: Parameters<typeof searchRequests>[1]) => searchRequests(f.deps, input).then(() => undefined, (e: Refusal) => [e.code, e.detail.field]);
    expect(await refused({ text: '  ' })).toEqual(['invalid', 'text']);
    expect(await refused({ text: 'x', field: 'name' as never })).toEqual(['invalid', 'field']);
    expect(await refused({ text: 'x', status: 'lost' as never })).toEqual(['invalid', 'status']);
    expect(await refused({ text: 'x', profile: 'other' })).toEqual(['invalid', 'profile']);
    expect(await refused({ text: 'x', limit: 0 })).toEqual(['invalid', 'limit']);
    expect(await refused({ text: 'x', offset: -1 })).toEqual(['invalid', 'offset']);
  });

  test('when listing expiring certificates, then only serving ones within N days of the business clock come back', async () => {
    expect((await listExpiringCertificates(f.deps, { days: 30 })).map((r) => r.requestId)).toEqual(['202611250000010']);
    expect(await listExpiringCertificates(f.deps, { days: 29 })).toEqual([]);
    await expect(listExpiringCertificates(f.deps, { days: -1 })).rejects.toMatchObject({ code: 'invalid', detail: { field: 'days' } });
  });

  test('when listing requests awaiting key retrieval, then those waiting more than N days come back, oldest first', async () => {
    expect((await listAwaitingRetrieval(f.deps, { days: 1 })).map((r) => r.requestId)).toEqual(['202611250000011', '202611250000012']);
    expect((await listAwaitingRetrieval(f.deps, { days: 7 })).map((r) => r.requestId)).toEqual(['202611250000011']);
    expect(await listAwaitingRetrieval(f.deps, { days: 9 })).toEqual([]);
  });

  test('when the audit trail is listed, then the filters pass through and a reversed range is refused', async () => {
    await f.stores.audit.record({ agent: 'sato', role: 'admin', action: 'revoke', target: 'user:emp010', outcome: 'ok' }, new Date(f.now.getTime() - DAY));
    await f.stores.audit.record({ agent: 'tanaka', role: 'support', action: 'unlock', target: 'user:emp011', outcome: 'ok' }, f.now);
    expect((await listAuditTrail(f.deps, {})).map((e) => e.agent)).toEqual(['tanaka', 'sato']);
    expect((await listAuditTrail(f.deps, { target: 'user:emp01', targetPrefix: true, agent: 'sato' })).map((e) => e.target)).toEqual(['user:emp010']);
    expect(await listAuditTrail(f.deps, { target: 'user:emp01' })).toEqual([]);
    await expect(listAuditTrail(f.deps, { from: f.now, to: f.now })).rejects.toMatchObject({ code: 'invalid', detail: { field: 'from' } });
  });
});
