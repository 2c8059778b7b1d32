// Data access for registered users (one row per user and profile).
import type { Db } from '../infra/db';
import type { Profile } from '../workflows/definitions';
import { LOGIN_FAILURES_TABLE } from './login-failures';

export interface User {
  userId: string;
  profile: Profile;
  email: string;
  idAdminEmail: string;
  organization: string;
  organizationalUnits: string[];
  subscriberId: string;
  currentRequestId?: string;
  /** Failed logins under this user ID since its last success (login_failures, shared by all the user's profiles). */
  failedLogins: number;
  /** Until when a login under this user ID is answered "wait" without being checked: throttling, not a lockout. */
  lockedUntil?: Date;
  createdAt: Date;
}

interface UserRow {
  user_id: string;
  profile: string;
  email: string;
  id_admin_email: string;
  organization: string;
  organizational_units: string;
  subscriber_id: string;
  current_request_id: string | null;
  failures: number | string | null;
  last_failure_at: number | string | null;
  wait_until: number | string | null;
  created_at: string | Date;
}

const toUser = (r: UserRow): User => ({
  userId: r.user_id,
  profile: r.profile as Profile,
  email: r.email,
  idAdminEmail: r.id_admin_email,
  organization: r.organization,
  organizationalUnits: JSON.parse(r.organizational_units) as string[],
  subscriberId: r.subscriber_id,
  currentRequestId: r.current_request_id ?? undefined,
  failedLogins: Number(r.failures ?? 0),
  // A wait is only what the throttle imposed beyond the failure itself.
  lockedUntil: r.wait_until !== null && Number(r.wait_until) > Number(r.last_failure_at) ? new Date(Number(r.wait_until)) : undefined,
  createdAt: new Date(r.created_at),
});

/** Registered users; the domain's only way to them. */
export interface UserStore {
  insert(user: Omit<User, 'failedLogins' | 'lockedUntil'>): Promise<void>;
  find(userId: string, profile: Profile): Promise<User | undefined>;
  findAll(userId: string): Promise<User[]>;
  /** Every profile's row of each of these users, in one query per thousand IDs. */
  findMany(userIds: string[]): Promise<User[]>;
  setCurrentRequest(userId: string, profile: Profile, requestId: string): Promise<void>;
  /** Compare-and-set: false when another call has already moved the user to a different request. */
  replaceCurrentRequest(userId: string, profile: Profile, expected: string | undefined, requestId: string | undefined): Promise<boolean>;
  /** Undoes a registration whose workflow could not be started. */
  remove(userId: string, profile: Profile): Promise<void>;
}

export function createUserStore(db: Db): UserStore {
  // Each user row with the failed logins of its user ID (stores/login-failures.ts writes them).
  const withFailures = () =>
    db<UserRow>('users')
      .leftJoin(LOGIN_FAILURES_TABLE, `${LOGIN_FAILURES_TABLE}.user_id`, 'users.user_id')
      .select('users.*', `${LOGIN_FAILURES_TABLE}.failures`, `${LOGIN_FAILURES_TABLE}.last_failure_at`, `${LOGIN_FAILURES_TABLE}.wait_until`);
  return {
    async insert(user) {
      await db('users').insert({
        user_id: user.userId,
        profile: user.profile,
        email: user.email,
        id_admin_email: user.idAdminEmail,
        organization: user.organization,
        organizational_units: JSON.stringify(user.organizationalUnits),
        subscriber_id: user.subscriberId,
        current_request_id: user.currentRequestId ?? null,
        created_at: user.createdAt,
      });
    },
    async find(userId, profile) {
      const row = await withFailures().where({ 'users.user_id': userId, 'users.profile': profile }).first();
      return row && toUser(row);
    },
    async findAll(userId) {
      const rows = await withFailures().where({ 'users.user_id': userId }).orderBy('users.profile');
      return rows.map(toUser);
    },
    async findMany(userIds) {
      const found: User[] = [];
      for (let i = 0; i < userIds.length; i += 1000) {
        const rows = await db<UserRow>('users').whereIn('user_id', userIds.slice(i, i + 1000));
        found.push(...rows.map(toUser));
      }
      return found;
    },
    async setCurrentRequest(userId, profile, requestId) {
      await db('users').where({ user_id: userId, profile }).update({ current_request_id: requestId });
    },
    async replaceCurrentRequest(userId, profile, expected, requestId) {
      const q = db('users').where({ user_id: userId, profile });
      if (expected === undefined) q.whereNull('current_request_id');
      else q.where({ current_request_id: expected });
      return (await q.update({ current_request_id: requestId ?? null })) === 1;
    },
    async remove(userId, profile) {
      await db('users').where({ user_id: userId, profile }).delete();
    },
  };
}

