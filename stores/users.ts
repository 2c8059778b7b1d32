// Data access for registered users (one row per user and profile).
import type { Db } from '../infra/db';
import type { Profile } from '../workflows/definitions';

export interface User {
  userId: string;
  profile: Profile;
  email: string;
  idAdminEmail: string;
  organization: string;
  organizationalUnits: string[];
  subscriberId: string;
  currentRequestId?: string;
  failedLogins: number;
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
  failed_logins: number;
  locked_until: string | Date | null;
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
  failedLogins: r.failed_logins,
  lockedUntil: r.locked_until ? new Date(r.locked_until) : undefined,
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
  /** Counts a failed login for every profile of the user, locking those that reached `lockAfter`. */
  recordFailedLogin(userId: string, lockAfter: number, lockUntil: Date): Promise<User[]>;
  resetFailedLogins(userId: string): Promise<void>;
}

export function createUserStore(db: Db): UserStore {
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
      const row = await db<UserRow>('users').where({ user_id: userId, profile }).first();
      return row && toUser(row);
    },
    async findAll(userId) {
      const rows = await db<UserRow>('users').where({ user_id: userId }).orderBy('profile');
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
    async recordFailedLogin(userId, lockAfter, lockUntil) {
      await db('users').where({ user_id: userId }).increment('failed_logins', 1);
      await db('users').where({ user_id: userId }).andWhere('failed_logins', '>=', lockAfter).update({ locked_until: lockUntil });
      return this.findAll(userId);
    },
    async resetFailedLogins(userId) {
      await db('users').where({ user_id: userId }).update({ failed_logins: 0, locked_until: null });
    },
  };
}

