// The login throttle per user ID on every supported database: parallel guesses get no extra tries, waits double up to
// their cap, and old failures are forgotten.
import { createEnrollmentLogin, delayAfter, DEFAULT_LOGIN_THROTTLE, type LoginThrottlePolicy } from '../../domain';
import { forEachDatabase } from '../support/databases';
import { createDomainFixture, type DomainFixture } from '../support/domain-fixture';

const policy: LoginThrottlePolicy = { ...DEFAULT_LOGIN_THROTTLE, freeFailures: 3, firstDelayMs: 60_000 };

test('when failures go on, then the wait doubles from the first delay beyond the free failures and stops at its cap', () => {
  const waits = Array.from({ length: 14 }, (_, i) => delayAfter(i + 1, DEFAULT_LOGIN_THROTTLE) / 1000);
  expect(waits).toEqual([0, 0, 0, 0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
  expect(delayAfter(10_000, DEFAULT_LOGIN_THROTTLE)).toBe(DEFAULT_LOGIN_THROTTLE.maxDelayMs);
});

forEachDatabase(
  'the login throttle',
  (database) => {
    let f: DomainFixture;
    beforeEach(async () => {
      f = await createDomainFixture(database.db);
    });
    afterEach(async () => {
      await f.close();
    });

    test('when 20 guesses at one user ID arrive at once, then only the free failures and the first slowed one are checked, the rest wait', async () => {
      const login = createEnrollmentLogin(f.deps, policy);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => login.authenticate('kdanshinnet', 'ghost01', `guess-${i}`)));
      expect(results.filter((r) => r.outcome === 'failed')).toHaveLength(4);
      const waits = results.filter((r) => r.outcome === 'wait');
      expect(waits).toHaveLength(16);
      for (const w of waits) expect(w.retryAfterMs).toBeGreaterThan(0);
      expect(await f.stores.loginFailures.get('ghost01')).toMatchObject({ failures: 4 });
    });

    test('when a guess that began later has counted its free failure first, then the earlier guess is checked too, not told to wait', async () => {
      // Guess A begins, then waits on its read; guess B begins 20 ms later and counts failure 1 (no wait yet: its waitUntil
      // is its own now). A then reads B's row: no wait is due, so A is checked and counts failure 2.
      const { loginFailures } = f.deps.stores;
      let release!: () => void;
      const readGate = new Promise<void>((resolve) => (release = resolve));
      const slowRead = { ...loginFailures, get: async (userId: string) => { await readGate; return loginFailures.get(userId); } };
      const guessA = createEnrollmentLogin({ ...f.deps, stores: { ...f.deps.stores, loginFailures: slowRead } }, policy).authenticate('kdanshinnet', 'ghost03', 'guess-a');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await createEnrollmentLogin(f.deps, policy).authenticate('kdanshinnet', 'ghost03', 'guess-b')).toEqual({ outcome: 'failed' });
      release();
      expect(await guessA).toEqual({ outcome: 'failed' });
      expect(await loginFailures.get('ghost03')).toMatchObject({ failures: 2 });
    });

    test('when the last failure is older than the forgetting time, then the count starts again and no wait is left', async () => {
      const longAgo = new Date(Date.now() - policy.forgetAfterMs - 1000);
      await f.stores.loginFailures.record('ghost02', undefined, { failures: 12, lastFailureAt: longAgo, waitUntil: new Date(longAgo.getTime() + policy.maxDelayMs) });
      const login = createEnrollmentLogin(f.deps, policy);
      expect(await login.authenticate('kdanshinnet', 'ghost02', 'guess')).toEqual({ outcome: 'failed' });
      expect(await f.stores.loginFailures.get('ghost02')).toMatchObject({ failures: 1 });
    });
  },
  { per: 'test' },
);
