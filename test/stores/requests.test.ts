// The request store on every supported database: the projection round trip, list filters and request ID allocation.
import { createRequestStore } from '../../stores/requests';
import { expectUniqueViolation, forEachDatabase } from '../support/databases';

const CREATED = new Date('2026-11-25T01:02:03.456Z');

function newRequest(requestId: string, overrides: Partial<{ userId: string; profile: 'kdanshinnet' | 'nissay' }> = {}) {
  const profile = overrides.profile ?? 'kdanshinnet';
  return { requestId, userId: overrides.userId ?? 'emp001', profile, kind: 'new' as const, workflowId: `certificate-${profile}-${requestId}` };
}

forEachDatabase('the request store', (database) => {
  test('when a request is inserted and a snapshot applied, then find returns every field with dates as Dates', async () => {
    const requests = createRequestStore(database.db);
    await requests.insert({ ...newRequest('202611250000001'), enrollmentPasswordHash: '$argon2id$x' }, CREATED);
    expect(await requests.find('202611250000001')).toEqual({
      ...newRequest('202611250000001'),
      status: 'reserved',
      enrollmentPasswordHash: '$argon2id$x',
      predecessorRequestId: undefined,
      successorRequestId: undefined,
      serial: undefined,
      guideExpiresAt: undefined,
      downloadDeadline: undefined,
      notBefore: undefined,
      notAfter: undefined,
      revocationReason: undefined,
      createdAt: CREATED,
      updatedAt: CREATED,
    });

    const at = new Date('2026-11-26T00:00:00Z');
    const snapshot = {
      requestId: '202611250000001',
      state: 'active' as const,
      serial: '0a1b2c',
      notBefore: '2026-11-26T00:00:00.000Z',
      notAfter: '2029-11-26T00:00:00.000Z',
      guideExpiresAt: '2026-12-25T01:02:03.000Z',
      downloadDeadline: '2026-12-10T00:00:00.000Z',
    };
    await requests.applySnapshot(snapshot, at);
    await requests.applySnapshot(snapshot, at); // a retried activity writes the same again
    expect(await requests.find('202611250000001')).toMatchObject({
      status: 'active',
      serial: '0a1b2c',
      notBefore: new Date(snapshot.notBefore),
      notAfter: new Date(snapshot.notAfter),
      guideExpiresAt: new Date(snapshot.guideExpiresAt),
      downloadDeadline: new Date(snapshot.downloadDeadline),
      createdAt: CREATED,
      updatedAt: at,
    });
    await requests.setPasswordHash('202611250000001', '$argon2id$y');
    expect((await requests.find('202611250000001'))?.enrollmentPasswordHash).toBe('$argon2id$y');
    expect(await requests.find('209901010000001')).toBeUndefined();
  });

  test('when requests are listed, then filters by status, profile, user and expiry apply and the newest comes first', async () => {
    const requests = createRequestStore(database.db);
    const base = new Date('2026-10-01T00:00:00Z');
    const ids = ['202610010000011', '202610010000012', '202610010000013'];
    for (const [i, id] of ids.entries()) {
      await requests.insert(newRequest(id, { userId: `list${i}`, profile: i === 2 ? 'nissay' : 'kdanshinnet' }), new Date(base.getTime() + i * 1000));
    }
    await requests.applySnapshot({ requestId: ids[0], state: 'active', notAfter: '2027-01-01T00:00:00Z', guideExpiresAt: '2026-11-01T00:00:00Z' }, base);
    await requests.applySnapshot({ requestId: ids[1], state: 'active', notAfter: '2029-01-01T00:00:00Z', guideExpiresAt: '2026-11-01T00:00:00Z' }, base);
    const mine = (list: Array<{ requestId: string }>) => list.map((r) => r.requestId).filter((id) => ids.includes(id));

    expect(mine(await requests.list())).toEqual([ids[2], ids[1], ids[0]]);
    expect(mine(await requests.list({ status: 'active' }))).toEqual([ids[1], ids[0]]);
    expect(mine(await requests.list({ profile: 'nissay' }))).toEqual([ids[2]]);
    expect(mine(await requests.list({ userId: 'list1' }))).toEqual([ids[1]]);
    expect(mine(await requests.list({ expiringBefore: new Date('2028-01-01T00:00:00Z') }))).toEqual([ids[0]]);
    expect(await requests.list({ limit: 1 })).toHaveLength(1);
  });

  test('when a reserved request is removed, then it is gone; a request past reservation is kept', async () => {
    const requests = createRequestStore(database.db);
    await requests.insert(newRequest('202611250000021'), CREATED);
    await requests.insert(newRequest('202611250000022'), CREATED);
    await requests.applySnapshot({ requestId: '202611250000022', state: 'awaitingKeyRetrieval', guideExpiresAt: '2026-12-25T00:00:00Z' }, CREATED);
    await requests.remove('202611250000021');
    await requests.remove('202611250000022');
    expect(await requests.find('202611250000021')).toBeUndefined();
    expect((await requests.find('202611250000022'))?.status).toBe('awaitingKeyRetrieval');
  });

  test('when a workflow ID is taken, then a second request with it is refused', async () => {
    const requests = createRequestStore(database.db);
    await requests.insert(newRequest('202611250000031'), CREATED);
    await expectUniqueViolation(requests.insert({ ...newRequest('202611250000032'), workflowId: 'certificate-kdanshinnet-202611250000031' }, CREATED));
  });

  test('when request IDs are allocated one after another, then each day counts from 1 on its own', async () => {
    const requests = createRequestStore(database.db);
    expect(await requests.nextRequestId('20261201')).toBe('202612010000001');
    expect(await requests.nextRequestId('20261201')).toBe('202612010000002');
    expect(await requests.nextRequestId('20261202')).toBe('202612020000001');
    expect(await requests.nextRequestId('20261201')).toBe('202612010000003');
  });

  test('when 20 request IDs of a new day are allocated at once, then they are 20 distinct, consecutive IDs', async () => {
    const requests = createRequestStore(database.db);
    const allocated = await Promise.all(Array.from({ length: 20 }, () => requests.nextRequestId('20261203')));
    expect([...allocated].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `20261203${String(i + 1).padStart(7, '0')}`));
    const more = await Promise.all(Array.from({ length: 20 }, () => requests.nextRequestId('20261203')));
    expect([...more].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `20261203${String(i + 21).padStart(7, '0')}`));
  });
});
