// Data access for the audit trail: who did what to which user or request, and how it ended. Each row is chained to
// the one before it by an HMAC, so an edited, removed or inserted row is found by verify().
import crypto from 'node:crypto';
import type { Knex } from 'knex';
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
  id: number | string;
  at: string | number | Date;
  agent: string;
  role: string;
  action: string;
  target: string;
  outcome: string;
  detail: string | null;
  prev_hash?: string | null;
  hash?: string | null;
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

/** What verify() found: the chain intact to its head, or the first link that does not hold. */
export interface AuditChainReport {
  intact: boolean;
  /** Rows read, in chain order, up to and including the first broken one. */
  checked: number;
  /** The last row the chain head records (absent on an empty trail). */
  head?: { id: number; hash: string };
  firstBroken?: { id: number; problem: string };
}

/** The audit trail; append-only, each row chained to the previous one. */
export interface AuditStore {
  /** Appends under the chain head's lock, so concurrent writers (other processes included) never fork the chain. */
  record(event: AuditEvent, at: Date): Promise<void>;
  /** Walks the whole chain and names the first row whose link does not hold. */
  verify(): Promise<AuditChainReport>;
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

/** The previous hash of the first row. */
export const AUDIT_GENESIS = '0'.repeat(64);
const HEAD_ID = 1;
const VERIFY_BATCH = 1000;

/**
 * The chain's HMAC key, derived from config.dataKey (HKDF-SHA-256): the database never holds it, so whoever can
 * rewrite rows cannot recompute the chain after them; derived, so the data key's bytes serve one purpose each.
 */
export function deriveAuditKey(dataKey: Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', dataKey, Buffer.alloc(0), 'certflow audit chain v1', 32));
}

/** HMAC-SHA-256 over a JSON array of the row's fields (its ID and the previous hash included): one encoding, no ambiguity. */
function rowHash(key: Buffer, r: AuditRow, prevHash: string): string {
  const canonical = JSON.stringify(['v1', Number(r.id), toDate(r.at).toISOString(), r.agent, r.role, r.action, r.target, r.outcome, r.detail ?? null, prevHash]);
  return crypto.createHmac('sha256', key).update(canonical).digest('hex');
}

const headMac = (key: Buffer, lastId: number, lastHash: string) => crypto.createHmac('sha256', key).update(`head|${lastId}|${lastHash}`).digest('hex');

interface ChainHead {
  last_id: number | string;
  last_hash: string;
  mac: string | null;
}

/**
 * Takes the chain head's lock for the rest of the transaction: an UPDATE is a row lock on PostgreSQL and SQLite's
 * write lock (taken before anything is read, so a second process waits on busy_timeout instead of a stale snapshot).
 */
async function lockHead(trx: Knex.Transaction): Promise<ChainHead> {
  await trx('audit_chain_head').where({ id: HEAD_ID }).update({ last_id: trx.ref('last_id') });
  const head = (await trx('audit_chain_head').where({ id: HEAD_ID }).first()) as ChainHead | undefined;
  if (!head) throw new Error('the audit chain head is missing (migration 20261126_011_audit_chain creates it)');
  return head;
}

/** Chains, in ID order, the rows after the head that have no hash yet; migration 011 runs it once on the rows it finds. */
export async function chainUnchainedAuditRows(db: Db, key: Buffer): Promise<number> {
  return db.transaction(async (trx) => {
    const head = await lockHead(trx);
    let lastId = Number(head.last_id);
    let lastHash = head.last_hash;
    let chained = 0;
    for (;;) {
      const rows = (await trx<AuditRow>('audit_events').where('id', '>', lastId).whereNull('hash').orderBy('id').limit(VERIFY_BATCH)) as AuditRow[];
      for (const r of rows) {
        const hash = rowHash(key, r, lastHash);
        await trx('audit_events').where({ id: r.id }).update({ prev_hash: lastHash, hash });
        [lastId, lastHash] = [Number(r.id), hash];
      }
      chained += rows.length;
      if (rows.length < VERIFY_BATCH) break;
    }
    await trx('audit_chain_head').where({ id: HEAD_ID }).update({ last_id: lastId, last_hash: lastHash, mac: lastId ? headMac(key, lastId, lastHash) : null });
    return chained;
  });
}

export function createAuditStore(db: Db, auditKey: Buffer): AuditStore {
  return {
    async record(event, at) {
      await db.transaction(async (trx) => {
        const head = await lockHead(trx);
        const row = {
          at,
          agent: event.agent,
          role: event.role,
          action: event.action,
          target: event.target,
          outcome: event.outcome,
          detail: event.detail ? JSON.stringify(event.detail) : null,
          prev_hash: head.last_hash,
        };
        const [inserted] = await trx('audit_events').insert(row).returning('id');
        const id = Number(typeof inserted === 'object' ? (inserted as { id: number }).id : inserted);
        const hash = rowHash(auditKey, { ...row, id }, head.last_hash);
        await trx('audit_events').where({ id }).update({ hash });
        await trx('audit_chain_head').where({ id: HEAD_ID }).update({ last_id: id, last_hash: hash, mac: headMac(auditKey, id, hash) });
      });
    },
    async verify() {
      const head = (await db('audit_chain_head').where({ id: HEAD_ID }).first()) as ChainHead | undefined;
      if (!head) return { intact: false, checked: 0, firstBroken: { id: 0, problem: 'the chain head is missing' } };
      const headId = Number(head.last_id);
      const report = (checked: number, broken?: { id: number; problem: string }): AuditChainReport => ({
        intact: !broken,
        checked,
        ...(headId ? { head: { id: headId, hash: head.last_hash } } : {}),
        ...(broken ? { firstBroken: broken } : {}),
      });
      let prev: { id: number; hash: string } | undefined;
      let checked = 0;
      for (;;) {
        const rows = (await db<AuditRow>('audit_events')
          .where('id', '>', prev?.id ?? 0)
          .orderBy('id')
          .limit(VERIFY_BATCH)) as AuditRow[];
        for (const r of rows) {
          checked++;
          const id = Number(r.id);
          const expectedPrev = prev?.hash ?? AUDIT_GENESIS;
          const after = prev ? `row ${prev.id}` : 'the start of the trail';
          if (!r.hash) return report(checked, { id, problem: 'the row carries no hash: it was written outside the audit store' });
          if (r.prev_hash !== expectedPrev) {
            return report(checked, { id, problem: `the row does not follow ${after}: a row before it was removed, or this one was inserted or moved` });
          }
          if (rowHash(auditKey, r, expectedPrev) !== r.hash) return report(checked, { id, problem: "the row's fields do not match its hash: it was edited, or inserted without the key" });
          prev = { id, hash: r.hash };
        }
        if (rows.length < VERIFY_BATCH) break;
      }
      if ((prev?.id ?? 0) !== headId || (prev?.hash ?? AUDIT_GENESIS) !== head.last_hash) {
        return report(checked, { id: headId, problem: `the chain head records row ${headId} but the trail ends at ${prev ? `row ${prev.id}` : 'no row'}: rows at its end were removed` });
      }
      if (headId && head.mac !== headMac(auditKey, headId, head.last_hash)) {
        return report(checked, { id: headId, problem: 'the chain head was rewritten without the key (its MAC does not match): rows at its end may have been removed' });
      }
      return report(checked);
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

