// Failed logins per user ID on every supported database: compare-and-set between two processes, clear, and a user's
// rows (all profiles) showing the count and wait of their ID.
import { createDb, type Db } from '../../infra/db';
import { createLoginFailureStore } from '../../stores/login-failures';
import { createUserStore } from '../../stores/users';
import { forEachDatabase } from '../support/databases';

const at = (iso: string) => new Date(iso);

forEachDatabase(
  'the login failure store',
  (database) => {
    const pools: Db[] = [];
    /** The store as a web process builds it, over its own pool of the same database. */
    const processStore = () => {
      const db = createDb(database.settings);
      pools.push(db);
      return createLoginFailureStore(db);
    };
    afterEach(async () => {
      for (const db of pools.splice(0)) await db.destroy();
    });

    test('when two processes count the same user ID from the same reading, then exactly one write wins, first insert and then update', async () => {
      const [first, second] = [processStore(), processStore()];
      const one = { failures: 1, lastFailureAt: at('2026-11-26T01:00:00.000Z'), waitUntil: at('2026-11-26T01:00:00.000Z') };
      expect(await Promise.all([first.record('nobody-typed', undefined, one), second.record('nobody-typed', undefined, one)])).toEqual(
        expect.arrayContaining([true, false]),
      );
      const two = { failures: 2, lastFailureAt: at('2026-11-26T01:00:01.000Z'), waitUntil: at('2026-11-26T01:00:03.000Z') };
      const results = await Promise.all([first.record('nobody-typed', 1, two), second.record('nobody-typed', 1, two)]);
      expect(results.sort()).toEqual([false, true]);
      expect(await second.get('nobody-typed')).toEqual(two);
      expect(await first.record('nobody-typed', 1, { ...two, failures: 9 })).toBe(false);
      expect(await first.get('someone-else')).toBeUndefined();
    });

    test('when failures are recorded for a registered ID, then each of its profiles shows them; a clear in another process removes them', async () => {
      const users = createUserStore(database.db);
      for (const profile of ['kdanshinnet', 'nissay'] as const) {
        await users.insert({
          userId: 'u900',
          profile,
          email: 'u900@example.co.jp',
          idAdminEmail: 'id-admin@example.co.jp',
          organization: '日本生命',
          organizationalUnits: ['営業部'],
          subscriberId: 'S-u900',
          createdAt: at('2026-11-25T00:00:00.000Z'),
        });
      }
      const [first, second] = [processStore(), processStore()];
      await first.record('u900', undefined, { failures: 5, lastFailureAt: at('2026-11-26T01:00:00.000Z'), waitUntil: at('2026-11-26T01:00:00.000Z') });
      expect((await users.findAll('u900')).map((u) => [u.failedLogins, u.lockedUntil])).toEqual([
        [5, undefined],
        [5, undefined],
      ]);
      const waitUntil = at('2026-11-26T01:00:04.000Z');
      await first.record('u900', 5, { failures: 6, lastFailureAt: at('2026-11-26T01:00:02.000Z'), waitUntil });
      expect((await users.find('u900', 'nissay'))!).toMatchObject({ failedLogins: 6, lockedUntil: waitUntil });
      await second.clear('u900');
      expect((await users.findAll('u900')).map((u) => [u.failedLogins, u.lockedUntil])).toEqual([
        [0, undefined],
        [0, undefined],
      ]);
      expect(await first.get('u900')).toBeUndefined();
    });
  },
  { per: 'test' },
);
