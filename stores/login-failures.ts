// Failed logins per user ID as typed (known or not), shared by every web process: what login throttling reads and writes.
import type { Db } from '../infra/db';

export const LOGIN_FAILURES_TABLE = 'login_failures';

export interface LoginFailures {
  failures: number;
  lastFailureAt: Date;
  /** No attempt for this user ID is checked before this instant. */
  waitUntil: Date;
}

interface Row {
  user_id: string;
  failures: number | string;
  last_failure_at: number | string;
  wait_until: number | string;
}

const toFailures = (r: Row): LoginFailures => ({
  failures: Number(r.failures),
  lastFailureAt: new Date(Number(r.last_failure_at)),
  waitUntil: new Date(Number(r.wait_until)),
});

export interface LoginFailureStore {
  get(userId: string): Promise<LoginFailures | undefined>;
  /**
   * Compare-and-set: writes `next` only if the row still holds `expected` failures (no row when undefined), so of two
   * attempts that read the same count exactly one counts itself; false for the other.
   */
  record(userId: string, expected: number | undefined, next: LoginFailures): Promise<boolean>;
  /** A successful login, support's unlock or a password reset: the user ID starts again with no failures. */
  clear(userId: string): Promise<void>;
}

export function createLoginFailureStore(db: Db): LoginFailureStore {
  return {
    async get(userId) {
      const row = await db<Row>(LOGIN_FAILURES_TABLE).where({ user_id: userId }).first();
      return row && toFailures(row);
    },
    async record(userId, expected, next) {
      const values = { failures: next.failures, last_failure_at: next.lastFailureAt.getTime(), wait_until: next.waitUntil.getTime() };
      if (expected === undefined) {
        const inserted = await db(LOGIN_FAILURES_TABLE)
          .insert({ user_id: userId, ...values })
          .onConflict('user_id')
          .ignore()
          .returning('user_id');
        return inserted.length === 1;
      }
      return (await db(LOGIN_FAILURES_TABLE).where({ user_id: userId, failures: expected }).update(values)) === 1;
    },
    async clear(userId) {
      await db(LOGIN_FAILURES_TABLE).where({ user_id: userId }).delete();
    },
  };
}
