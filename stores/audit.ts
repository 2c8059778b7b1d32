// Data access for the audit trail: who did what to which user or request, and how it ended.
import type { Db } from '../infra/db';
import { LIKE_ESCAPED, likePattern } from '../infra/like';

export type AuditOutcome = 'ok' | 'rejected' | 'failed';

export interface AuditEvent {
  agent: string;
  role: string;
  action: string;
  /** The user or request acted on, e.g. `user:emp002/kdanshinnet` or `request:202611250000001`. */
  target: string;
  outcome: AuditOutcome;
  /** Reason, request IDs and the like; never a password, key or token. */
  detail?: Record<string, unknown>;
}

export interface RecordedAuditEvent extends AuditEvent {
  id: number;
  at: Date;
}

interface AuditRow {
  id: number;
  at: string | number | Date;
  agent: string;
  role: string;
  action: string;
  target: string;
  outcome: string;
  detail: string | null;
}

// SQLite returns epoch milliseconds, PostgreSQL a Date.
const toDate = (v: string | number | Date) => (v instanceof Date ? v : new Date(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v));

/** What the support console filters the trail by; every given part must hold. */
export interface AuditSearch {
  agent?: string;
  action?: string;
  /** Any of these targets, each matched exactly or by its start. */
  targets?: Array<{ value: string; prefix?: boolean }>;
  /** From this instant (inclusive) … */
  from?: Date;
  /** … to this one (exclusive). */
  to?: Date;
  limit: number;
  offset: number;
}

/** The audit trail; append-only. */
export interface AuditStore {
  record(event: AuditEvent, at: Date): Promise<void>;
  /** Oldest first, so a target's history reads in order. */
  list(filter?: { target?: string; action?: string; limit?: number }): Promise<RecordedAuditEvent[]>;
  /** Newest first, paged, for the console's trail. */
  search(filter: AuditSearch): Promise<RecordedAuditEvent[]>;
}

const toEvent = (r: AuditRow): RecordedAuditEvent => ({
  id: Number(r.id),
  at: toDate(r.at),
  agent: r.agent,
  role: r.role,
  action: r.action,
  target: r.target,
  outcome: r.outcome as AuditOutcome,
  detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : undefined,
});

export function createAuditStore(db: Db): AuditStore {
  return {
    async record(event, at) {
      await db('audit_events').insert({
        at,
        agent: event.agent,
        role: event.role,
        action: event.action,
        target: event.target,
        outcome: event.outcome,
        detail: event.detail ? JSON.stringify(event.detail) : null,
      });
    },
    async list(filter = {}) {
      const q = db<AuditRow>('audit_events').orderBy('id', 'asc').limit(filter.limit ?? 1000);
      if (filter.target) q.where({ target: filter.target });
      if (filter.action) q.where({ action: filter.action });
      return ((await q) as AuditRow[]).map(toEvent);
    },
    async search(filter) {
      const q = db<AuditRow>('audit_events')
        .orderBy([{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }])
        .limit(filter.limit)
        .offset(filter.offset);
      if (filter.agent) q.where({ agent: filter.agent });
      if (filter.action) q.where({ action: filter.action });
      if (filter.from) q.where('at', '>=', filter.from);
      if (filter.to) q.where('at', '<', filter.to);
      const targets = filter.targets;
      if (targets) {
        q.where((w) => {
          for (const t of targets) {
            if (t.prefix) w.orWhereRaw(`target ${LIKE_ESCAPED}`, [likePattern(t.value, 'prefix')]);
            else w.orWhere('target', t.value);
          }
          // An empty list matches nothing rather than everything.
          if (targets.length === 0) w.whereRaw('1 = 0');
        });
      }
      return ((await q) as AuditRow[]).map(toEvent);
    },
  };
}

