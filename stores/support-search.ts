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

/** Matches from which a search walks the requests in their order instead of reading every match and sorting it. */
const MANY_MATCHES = 500;

export function createSupportSearchStore(db: Db): SupportSearchStore {
  const isPostgres = db.client.config.client === 'pg';
  /** Whether the query's rows reach `n`, reading no more than `n` of them. */
  const atLeast = async (q: Knex.QueryBuilder, n: number) => {
    const row = await db.from(db.from(q.as('m')).select(db.raw('1')).limit(n).as('c')).count({ n: '*' }).first();
    return Number(row?.n ?? 0) >= n;
  };
  /**
   * The distinct organisations with `text` anywhere in their name (ignoring case), read by hopping along their index
   * from one to the next (one seek per organisation, not one entry per user), and tested once each.
   */
  const organizationsContaining = async (text: string): Promise<string[]> => {
    const result = await db.raw(
      `with recursive o(organization) as (
         select min(organization) from users
         union all select (select min(organization) from users where organization > o.organization) from o where o.organization is not null
       ) select organization from o where organization is not null and lower(organization) ${LIKE_ESCAPED}`,
      [likePattern(text.toLowerCase(), 'contains')],
    );
    return ((isPostgres ? result.rows : result) as Array<{ organization: string }>).map((r) => r.organization);
  };
  /** The requests of the users the condition picks. */
  const ofUsers = () => db('users as mu').join('requests as mr', (j) => j.on('mr.user_id', 'mu.user_id').andOn('mr.profile', 'mu.profile')).select('mr.request_id');
  // SQLite's LIKE ignores ASCII case as its lower() folds it, and only a bare NOCASE-indexed column lets it use the index.
  const emailStarts = (column: string) => `${isPostgres ? `lower(${column})` : column} ${LIKE_ESCAPED}`;

  /** What one search looks for: its text (trimmed) and the organisations that text names. */
  interface Sought { text: string; organizations: string[] }
  /**
   * Per field, the IDs of the requests it matches, each through an index (migrations 006, 015), so a search over many
   * fields is a union of index lookups rather than one scan testing every field on every row.
   */
  const matching: Record<SearchField, (s: Sought) => Knex.QueryBuilder> = {
    userId: ({ text }) => db('requests').select('request_id').where('user_id', text),
    requestId: ({ text }) => db('requests').select('request_id').where('request_id', text),
    serial: ({ text }) => db('requests').select('request_id').where('serial', normalizeSerial(text)),
    email: ({ text }) => ofUsers().whereRaw(emailStarts('mu.email'), [likePattern(text.toLowerCase(), 'prefix')]),
    organization: ({ organizations }) => ofUsers().whereIn('mu.organization', organizations),
  };
  /**
   * The same matches as conditions on a request `r` joined to its user `u`, for a search that walks the requests in
   * their order. `+` keeps SQLite from starting at the users' organisation index and sorting all they match.
   */
  const onRow: Record<SearchField, (q: Knex.QueryBuilder, s: Sought) => void> = {
    userId: (q, { text }) => q.orWhere('r.user_id', text),
    requestId: (q, { text }) => q.orWhere('r.request_id', text),
    serial: (q, { text }) => q.orWhere('r.serial', normalizeSerial(text)),
    email: (q, { text }) => q.orWhereRaw(emailStarts('u.email'), [likePattern(text.toLowerCase(), 'prefix')]),
    organization: (q, { organizations }) => q.orWhereIn(db.raw('+??', ['u.organization']) as unknown as string, organizations),
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
      const asked = search.field ? [search.field] : SEARCH_FIELDS;
      const sought = { text, organizations: asked.includes('organization') ? await organizationsContaining(text) : [] };
      // An organisation field no organisation's name matches is left out, rather than asked as an empty IN.
      const fields = asked.filter((field) => field !== 'organization' || sought.organizations.length > 0);
      if (fields.length === 0) return [];
      const ids = (all: boolean) => {
        const [first, ...others] = fields.map((field) => matching[field](sought));
        return others.length ? first![all ? 'unionAll' : 'union'](others) : first!;
      };
      // Few matches are read by their IDs and sorted; many (an organisation's thousands) are found by walking the
      // requests newest first and stopping at the page's end. SQLite has no statistics to choose between the two, so
      // it is told; PostgreSQL chooses by its own.
      const q = joined(search);
      // Counted without removing repeats (UNION ALL streams and stops at the count; UNION would sort every match first).
      if (!isPostgres && (await atLeast(ids(true), MANY_MATCHES))) q.where((w) => fields.forEach((field) => onRow[field](w, sought)));
      else q.whereIn('r.request_id', ids(false));
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
