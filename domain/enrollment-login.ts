// ユーザ認証: the enrollment password of the user's current request, with lockout after repeated failures.
import type { Stores, User } from '../stores';
import type { Profile } from '../workflows/definitions';
import { hashEnrollmentPassword, verifyEnrollmentPassword } from './enrollment-password';

export interface LockoutPolicy {
  /** Failed logins (over all the user's profiles) before the account locks. */
  maxFailures: number;
  lockMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, lockMs: 30 * 60_000 };

export function createEnrollmentLogin({ users, requests }: Pick<Stores, 'users' | 'requests'>, policy: LockoutPolicy = DEFAULT_LOCKOUT) {
  // Unknown and locked users still cost one argon2 verification, so timing does not tell them apart.
  let decoy: Promise<string> | undefined;
  const spendVerification = async (password: string) => {
    decoy ??= hashEnrollmentPassword('certflow-decoy-password');
    await verifyEnrollmentPassword(await decoy, password);
  };

  return {
    /** The user when the password is right and the account not locked; undefined in every other case alike. */
    async authenticate(profile: Profile, userId: string, password: string): Promise<User | undefined> {
      const user = await users.find(userId, profile);
      // Lockout is about people typing, so it runs on the wall clock rather than business time.
      const now = Date.now();
      if (!user || (user.lockedUntil && user.lockedUntil.getTime() > now)) {
        await spendVerification(password);
        return undefined;
      }
      const request = user.currentRequestId ? await requests.find(user.currentRequestId) : undefined;
      if (!(await verifyEnrollmentPassword(request?.enrollmentPasswordHash, password))) {
        await users.recordFailedLogin(userId, policy.maxFailures, new Date(now + policy.lockMs));
        return undefined;
      }
      if (user.failedLogins > 0 || user.lockedUntil) await users.resetFailedLogins(userId);
      return user;
    },
  };
}
