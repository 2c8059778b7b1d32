// The user store on every supported database: registration round trip, current request compare-and-set.
import { createUserStore } from '../../stores/users';
import { expectUniqueViolation, forEachDatabase } from '../support/databases';

const CREATED = new Date('2026-11-25T01:02:03.456Z');

function user(userId: string, profile: 'kdanshinnet' | 'nissay' = 'kdanshinnet') {
  return {
    userId,
    profile,
    email: `${userId}@example.co.jp`,
    idAdminEmail: 'id-admin@example.co.jp',
    organization: '日本生命',
    organizationalUnits: ['営業一課', '営業部'],
    subscriberId: `S-${userId}`,
    createdAt: CREATED,
  };
}

forEachDatabase('the user store', (database) => {
  test('when a user is inserted, then find returns it as registered, with no failed logins and no lock', async () => {
    const users = createUserStore(database.db);
    await users.insert({ ...user('u001'), currentRequestId: '202611250000001' });
    expect(await users.find('u001', 'kdanshinnet')).toEqual({
      ...user('u001'),
      currentRequestId: '202611250000001',
      failedLogins: 0,
      lockedUntil: undefined,
    });
    expect(await users.find('u001', 'nissay')).toBeUndefined();
  });

  test('when the same user is registered for both profiles, then findAll lists both and a second row of one profile is refused', async () => {
    const users = createUserStore(database.db);
    await users.insert(user('u002', 'nissay'));
    await users.insert(user('u002', 'kdanshinnet'));
    expect((await users.findAll('u002')).map((u) => u.profile)).toEqual(['kdanshinnet', 'nissay']);
    await expectUniqueViolation(users.insert(user('u002', 'nissay')));
    await users.remove('u002', 'nissay');
    expect((await users.findAll('u002')).map((u) => u.profile)).toEqual(['kdanshinnet']);
  });

  test('when two callers replace the current request from the same value, then only the first succeeds', async () => {
    const users = createUserStore(database.db);
    await users.insert(user('u003'));
    expect(await users.replaceCurrentRequest('u003', 'kdanshinnet', undefined, '202611250000010')).toBe(true);
    expect(await users.replaceCurrentRequest('u003', 'kdanshinnet', undefined, '202611250000011')).toBe(false);
    const racing = await Promise.all([
      users.replaceCurrentRequest('u003', 'kdanshinnet', '202611250000010', '202611250000012'),
      users.replaceCurrentRequest('u003', 'kdanshinnet', '202611250000010', '202611250000013'),
    ]);
    expect(racing.filter(Boolean)).toHaveLength(1);
    await users.setCurrentRequest('u003', 'kdanshinnet', '202611250000014');
    expect((await users.find('u003', 'kdanshinnet'))?.currentRequestId).toBe('202611250000014');
    expect(await users.replaceCurrentRequest('u003', 'kdanshinnet', '202611250000014', undefined)).toBe(true);
    expect((await users.find('u003', 'kdanshinnet'))?.currentRequestId).toBeUndefined();
  });
});
