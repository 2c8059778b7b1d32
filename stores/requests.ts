// Data access for issuance requests: the projection the workflows write and the lists read.
import type { Db } from '../infra/db';
import type { Profile, RequestKind, RequestSnapshot, RequestStatus, RevocationReason } from '../workflows/definitions';

export interface IssuanceRequest {
  requestId: string;
  userId: string;
  profile: Profile;
  kind: RequestKind;
  workflowId: string;
  status: RequestStatus;
  enrollmentPasswordHash?: string;
  predecessorRequestId?: string;
  successorRequestId?: string;
  serial?: string;
  guideExpiresAt?: Date;
  downloadDeadline?: Date;
  notBefore?: Date;
  notAfter?: Date;
  revocationReason?: RevocationReason;
  createdAt: Date;
  updatedAt: Date;
}

type Row = Record<string, unknown>;
const date = (v: unknown) => (v === null || v === undefined ? undefined : new Date(v as string));
const text = (v: unknown) => (v === null || v === undefined ? undefined : String(v));

/** A requests row (snake case, dates as the driver returns them) as the domain reads it. */
export const toRequest = (r: Row): IssuanceRequest => ({
  requestId: String(r.request_id),
  userId: String(r.user_id),
  profile: r.profile as Profile,
  kind: r.kind as RequestKind,
  workflowId: String(r.workflow_id),
  status: r.status as IssuanceRequest['status'],
  enrollmentPasswordHash: text(r.enrollment_password_hash),
  predecessorRequestId: text(r.predecessor_request_id),
  successorRequestId: text(r.successor_request_id),
  serial: text(r.serial),
  guideExpiresAt: date(r.guide_expires_at),
  downloadDeadline: date(r.download_deadline),
  notBefore: date(r.not_before),
  notAfter: date(r.not_after),
  revocationReason: text(r.revocation_reason) as RevocationReason | undefined,
  createdAt: new Date(r.created_at as string),
  updatedAt: new Date(r.updated_at as string),
});

export interface RequestFilter {
  status?: string;
  profile?: Profile;
  expiringBefore?: Date;
  userId?: string;
  limit?: number;
}

/** New rows are 'reserved' until their workflow records its first state. */
export type NewRequest = Pick<IssuanceRequest, 'requestId' | 'userId' | 'profile' | 'kind' | 'workflowId' | 'enrollmentPasswordHash' | 'predecessorRequestId'>;

/** Issuance requests: reserved by the domain, projected by the workflows' activities, read by lists and pages. */
export interface RequestStore {
  insert(request: NewRequest, createdAt: Date): Promise<void>;
  find(requestId: string): Promise<IssuanceRequest | undefined>;
  list(filter?: RequestFilter): Promise<IssuanceRequest[]>;
  /** Idempotent: a retried activity writes the same values again. */
  applySnapshot(snapshot: RequestSnapshot, at: Date): Promise<void>;
  setPasswordHash(requestId: string, hash: string): Promise<void>;
  /** Removes a row that is still only reserved (its workflow never started). */
  remove(requestId: string): Promise<void>;
  /** The next request ID of the day: yyyymmdd + 7-digit sequence, allocated in one statement. */
  nextRequestId(day: string): Promise<string>;
}

export function createRequestStore(db: Db): RequestStore {
  return {
    async insert(r, createdAt) {
      await db('requests').insert({
        request_id: r.requestId,
        user_id: r.userId,
        profile: r.profile,
        kind: r.kind,
        workflow_id: r.workflowId,
        status: 'reserved',
        enrollment_password_hash: r.enrollmentPasswordHash ?? null,
        predecessor_request_id: r.predecessorRequestId ?? null,
        created_at: createdAt,
        updated_at: createdAt,
      });
    },
    async find(requestId) {
      const row = await db('requests').where({ request_id: requestId }).first();
      return row && toRequest(row);
    },
    async list(filter = {}) {
      const q = db('requests').orderBy('created_at', 'desc').limit(filter.limit ?? 500);
      if (filter.status) q.where({ status: filter.status });
      if (filter.profile) q.where({ profile: filter.profile });
      if (filter.userId) q.where({ user_id: filter.userId });
      if (filter.expiringBefore) q.whereNotNull('not_after').andWhere('not_after', '<', filter.expiringBefore);
      return (await q).map(toRequest);
    },
    async applySnapshot(s, at) {
      await db('requests').where({ request_id: s.requestId }).update({
        status: s.state,
        serial: s.serial ?? null,
        not_before: s.notBefore ? new Date(s.notBefore) : null,
        not_after: s.notAfter ? new Date(s.notAfter) : null,
        guide_expires_at: new Date(s.guideExpiresAt),
        download_deadline: s.downloadDeadline ? new Date(s.downloadDeadline) : null,
        successor_request_id: s.successorRequestId ?? null,
        revocation_reason: s.revocationReason ?? null,
        updated_at: at,
      });
    },
    async setPasswordHash(requestId, hash) {
      await db('requests').where({ request_id: requestId }).update({ enrollment_password_hash: hash });
    },
    async remove(requestId) {
      await db('requests').where({ request_id: requestId, status: 'reserved' }).delete();
    },
    async nextRequestId(day) {
      // One upsert, because PostgreSQL's row lock cannot guard a day's first row before it exists.
      const [row] = await db('request_sequences')
        .insert({ day, last_value: 1 })
        .onConflict('day')
        .merge({ last_value: db.raw('?? + 1', ['request_sequences.last_value']) })
        .returning('last_value');
      return `${day}${String(row.last_value).padStart(7, '0')}`;
    },
  };
}

