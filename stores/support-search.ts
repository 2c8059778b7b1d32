// Data access for the support console's finds and lists: requests joined with their user, filtered and paged.
import type { Knex } from 'knex';
import type { Db } from '../infra/db';
import { LIKE_ESCAPED, likePattern } from '../infra/like';
import type { Profile, RequestKind, RequestStatus } from '../workflows/definitions';
import { toRequest } from './requests';

export const SEARCH_FIELDS = ['userId', 'requestId', 'serial', 'email', 'organization'] as const;
export type SearchField = (typeof SEARCH_FIELDS)[number];

export interface Page {
  limit: number;
  offset: number;
}

export interface RequestSearch extends Page {
  text: string;
  /** Absent: any of them. */
  field?: SearchField;
  status?: RequestStatus;
  profile?: Profile;
}

/** One request with the user fields a result list shows. */
export interface SupportRow {
  userId: string;
  profile: Profile;
  requestId: string;
  kind: RequestKind;
  status: RequestStatus;
  serial?: string;
  notBefore?: Date;
  notAfter?: Date;
  guideExpiresAt?: Date;
  createdAt: Date;
  email: string;
  organization: string;
}

export interface SupportSearchStore {
  /** IDs and serials match exactly; the e-mail address by its start, the organisation anywhere (both ignoring case). */
  searchRequests(search: RequestSearch): Promise<SupportRow[]>;
  /** Requests in `statuses` whose notAfter is at or before `notAfterBy`, soonest first. */
  expiring(filter: Page & { statuses: readonly RequestStatus[]; notAfterBy: Date; profile?: Profile }): Promise<SupportRow[]>;
  /** Requests in `statuses` created at or before `createdBy`, oldest first. */
  waitingSince(filter: Page & { statuses: readonly RequestStatus[]; createdBy: Date; profile?: Profile }): Promise<SupportRow[]>;
}


function toRow(r: Record<string, unknown>): SupportRow {
  const request = toRequest(r);
  return {
    userId: request.userId,
    profile: request.profile,
    requestId: request.requestId,
    kind: request.kind,
    status: request.status,
    serial: request.serial,
    notBefore: request.notBefore,
    notAfter: request.notAfter,
    guideExpiresAt: request.guideExpiresAt,
    createdAt: request.createdAt,
    email: String(r.user_email),
    organization: String(r.user_organization),
  };
}

/** A serial as the CA stores it: lower-case hex, without the colons or spaces tools print it with. */
export const normalizeSerial = (text: string): string => text.replace(/[\s:]/g, '').toLowerCase();

export function createSupportSearchStore(db: Db): SupportSearchStore {
  const isPostgres = db.client.config.client === 'pg';
  /** The requests of the users the condition picks. */
  const ofUsers = () => db('users as mu').join('requests as mr', (j) => j.on('mr.user_id', 'mu.user_id').andOn('mr.profile', 'mu.profile')).select('mr.request_id');
  /**
   * Per field, the IDs of the requests it matches (`text` already trimmed), each through an index (migrations 006, 015),
   * so a search over many fields is a union of index lookups rather than one scan testing every field on every row.
   */
  const matching: Record<SearchField, (text: string) => Knex.QueryBuilder> = {
    userId: (text) => db('requests').select('request_id').where('user_id', text),
    requestId: (text) => db('requests').select('request_id').where('request_id', text),
    serial: (text) => db('requests').select('request_id').where('serial', normalizeSerial(text)),
    // SQLite's LIKE ignores ASCII case as its lower() folds it, and only a bare NOCASE-indexed column lets it use the index.
    email: (text) => ofUsers().whereRaw(`${isPostgres ? 'lower(mu.email)' : 'mu.email'} ${LIKE_ESCAPED}`, [likePattern(text.toLowerCase(), 'prefix')]),
    // Anywhere in the name: tested once per distinct organisation (read from its index), not once per user.
    organization: (text) =>
      ofUsers().whereIn(
        'mu.organization',
        db.from(db('users').distinct('organization').as('o')).select('o.organization').whereRaw(`lower(o.organization) ${LIKE_ESCAPED}`, [likePattern(text.toLowerCase(), 'contains')]),
      ),
  };

  const joined = (filter: { profile?: Profile } & Page) => {
    const q = db('requests as r')
      .join('users as u', (j) => j.on('u.user_id', 'r.user_id').andOn('u.profile', 'r.profile'))
      .select('r.*', 'u.email as user_email', 'u.organization as user_organization')
      .limit(filter.limit)
      .offset(filter.offset);
    if (filter.profile) q.where('r.profile', filter.profile);
    return q;
  };

  return {
    async searchRequests(search) {
      const text = search.text.trim();
      const [first, ...others] = (search.field ? [search.field] : SEARCH_FIELDS).map((field) => matching[field](text));
      const q = joined(search).whereIn('r.request_id', others.length ? first!.union(others) : first!);
      if (search.status) q.where('r.status', search.status);
      return (await q.orderBy([{ column: 'r.created_at', order: 'desc' }, { column: 'r.request_id', order: 'desc' }])).map(toRow);
    },
    async expiring(filter) {
      // SQLite without statistics would pick the status index and sort every certificate in use; `+` keeps it on not_after's.
      const q = joined(filter).whereIn(isPostgres ? 'r.status' : db.raw('+??', ['r.status']) as unknown as string, filter.statuses).whereNotNull('r.not_after').andWhere('r.not_after', '<=', filter.notAfterBy);
      return (await q.orderBy([{ column: 'r.not_after', order: 'asc' }, { column: 'r.request_id', order: 'asc' }])).map(toRow);
    },
    async waitingSince(filter) {
      const q = joined(filter).whereIn('r.status', filter.statuses).andWhere('r.created_at', '<=', filter.createdBy);
      return (await q.orderBy([{ column: 'r.created_at', order: 'asc' }, { column: 'r.request_id', order: 'asc' }])).map(toRow);
    },
  };
}
