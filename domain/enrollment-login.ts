// ユーザ認証: the enrollment password of the user's current request, throttled per user ID as typed (OWASP's
// authentication guidance): repeated failures make the next attempt wait longer and longer, never lock the owner out.
import type { User } from '../stores';
import { tokyoDay } from '../workflows/time-rules';
import type { DomainDeps } from './deps';
import { hashEnrollmentPassword, verifyEnrollmentPassword } from './enrollment-password';
import type { Profile } from '../workflows/definitions';

export interface LoginThrottlePolicy {
  /** Failures under one user ID that cost no wait (typos). */
  freeFailures: number;
  /** The wait after the first failure beyond the free ones; it doubles with each further failure. */
  firstDelayMs: number;
  /** The longest wait: an attacker gets a handful of guesses an hour, the owner waits minutes at most. */
  maxDelayMs: number;
  /** Failures older than this are forgotten: last month's typos do not slow the user down today. */
  forgetAfterMs: number;
  /** Failures at which the user is mailed that someone may be trying to log in (at most once a day). */
  notifyAfter: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottlePolicy = {
  freeFailures: 5,
  firstDelayMs: 2_000,
  maxDelayMs: 5 * 60_000,
  forgetAfterMs: 24 * 60 * 60_000,
  notifyAfter: 10,
};

export type LoginResult =
  | { outcome: 'success'; user: User }
  /** Unknown user ID, wrong password, no current request: all alike. */
  | { outcome: 'failed' }
  /** Too many failures under this user ID lately: the password was not checked; try again after `retryAfterMs`. */
  | { outcome: 'wait'; retryAfterMs: number };

/** The wait after the n-th failure in a row. */
export function delayAfter(failures: number, policy: LoginThrottlePolicy): number {
  const beyond = failures - policy.freeFailures;
  if (beyond <= 0) return 0;
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.min(beyond - 1, 30));
}

/** Lost compare-and-sets in a row before an attempt is told to wait: a burst of parallel guesses at one user ID. */
const MAX_RACES = 5;

export function createEnrollmentLogin(
  { stores, mailer }: Pick<DomainDeps, 'stores' | 'mailer'>,
  policy: LoginThrottlePolicy = DEFAULT_LOGIN_THROTTLE,
  /** What becomes of a warning mail that could not be sent now (its outbox row stays; the next failure tries again). */
  onWarningError: (err: unknown) => void = () => {},
) {
  const { users, requests, loginFailures } = stores;
  // Unknown users still cost one argon2 verification, so timing does not tell them apart.
  let decoy: Promise<string> | undefined;
  const spendVerification = async (password: string) => {
    decoy ??= hashEnrollmentPassword('certflow-decoy-password');
    await verifyEnrollmentPassword(await decoy, password);
  };

  /**
   * Counts this attempt as a failure before the password is checked (a success clears it), so parallel guesses cannot
   * all slip in before the first is counted. The attempt's place in the run of failures, or how long to wait.
   */
  async function admit(userId: string): Promise<{ failures: number } | { waitMs: number }> {
    for (let race = 0; race < MAX_RACES; race++) {
      const seen = await loginFailures.get(userId);
      // The time after the read, not the attempt's start: a parallel attempt that started a moment later may have
      // written the row, and its "no wait yet" (waitUntil = its own now) must not look like a wait to this one.
      const now = Date.now();
      const recent = seen && now - seen.lastFailureAt.getTime() < policy.forgetAfterMs ? seen : undefined;
      if (recent && recent.waitUntil.getTime() > now) return { waitMs: recent.waitUntil.getTime() - now };
      const failures = (recent?.failures ?? 0) + 1;
      const next = { failures, lastFailureAt: new Date(now), waitUntil: new Date(now + delayAfter(failures, policy)) };
      if (await loginFailures.record(userId, seen?.failures, next)) return { failures };
    }
    return { waitMs: policy.firstDelayMs };
  }

  /** Once a day per user and profile (the outbox key), from the threshold on; sent aside so it cannot slow the answer. */
  function warn(user: User, failures: number, now: number): void {
    if (failures < policy.notifyAfter) return;
    const key = `login-attempts:${user.profile}:${user.userId}:${tokyoDay(now)}`;
    mailer
      // The mail is about the user ID, not a request; the current one (if any) only travels along.
      .send({ key, to: user.email, user, requestId: user.currentRequestId ?? '', mail: { kind: 'loginAttempts', failures, at: new Date(now).toISOString() } })
      .catch(onWarningError);
  }

  return {
    async authenticate(profile: Profile, userId: string, password: string): Promise<LoginResult> {
      // Throttling is about people typing, so it runs on the wall clock rather than business time.
      const admitted = await admit(userId);
      const now = Date.now();
      if ('waitMs' in admitted) return { outcome: 'wait', retryAfterMs: admitted.waitMs };
      const user = await users.find(userId, profile);
      if (!user) {
        await spendVerification(password);
        return { outcome: 'failed' };
      }
      const request = user.currentRequestId ? await requests.find(user.currentRequestId) : undefined;
      if (!(await verifyEnrollmentPassword(request?.enrollmentPasswordHash, password))) {
        warn(user, admitted.failures, now);
        return { outcome: 'failed' };
      }
      await loginFailures.clear(userId);
      return { outcome: 'success', user: { ...user, failedLogins: 0, lockedUntil: undefined } };
    },
  };
}
