// The mail outbox: one row per mail event, written before sending and read on every retry, so each event is mailed once.
import type { Db } from '../../infra/db';
import { LIKE_ESCAPED, likePattern } from '../../infra/like';
import type { MailKind } from './kinds';

export type OutboxStatus = 'pending' | 'sent' | 'failed';

export interface OutboxMail {
  key: string;
  kind: MailKind;
  recipient: string;
  subject: string;
  status: OutboxStatus;
  messageId: string;
  attempts: number;
  smtpResponse: string | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  sentAt: Date | null;
}

export interface NewOutboxMail {
  key: string;
  kind: MailKind;
  recipient: string;
  subject: string;
  messageId: string;
}

/**
 * The key of the one resend of a failed mail: a row of its own (its own attempts, Message-ID and outcome) next to the
 * refused one, and the same key however often a caller retries, so the outbox's once-per-key rule forbids duplicates.
 */
export const resendKeyOf = (key: string): string => `${key}:resend`;

export interface MailOutboxStore {
  get(key: string): Promise<OutboxMail | undefined>;
  /** Writes the pending row unless the key is already there; returns the row as it now stands. */
  enqueue(mail: NewOutboxMail): Promise<OutboxMail>;
  /** Writes the row already held by this attempt (one write on the common path); false when the key exists. */
  enqueueClaimed(mail: NewOutboxMail, leaseMs: number): Promise<boolean>;
  /** Takes the row for one attempt; false when it is no longer pending or another attempt still holds it. */
  claim(key: string, leaseMs: number): Promise<boolean>;
  markSent(key: string, smtpResponse: string): Promise<void>;
  markFailed(key: string, reason: string): Promise<void>;
  /** A transient failure: the row stays pending and the next attempt may claim it at once. */
  release(key: string, error: string): Promise<void>;
  /** Mails refused for good (e.g. 550 unknown user) and not resent since, newest first, for the admin to follow up. */
  listFailedMails(options?: { limit?: number }): Promise<OutboxMail[]>;
  /** Rows neither sent nor refused yet: the backlog an operator watches. */
  countPending(): Promise<number>;
  /** Every mail whose key starts with `prefix` (a workflow's mails: `${workflowId}:`), oldest first. */
  listByKeyPrefix(prefix: string): Promise<OutboxMail[]>;
}

interface OutboxRow {
  key: string;
  kind: string;
  recipient: string;
  subject: string;
  status: string;
  message_id: string;
  attempts: number;
  claimed_until: Date | number | string | null;
  smtp_response: string | null;
  last_error: string | null;
  created_at: Date | number | string;
  updated_at: Date | number | string;
  sent_at: Date | number | string | null;
}

const table = 'mail_outbox';

// SQLite returns epoch milliseconds, PostgreSQL a Date: one shape for callers.
const toDate = (v: Date | number | string): Date => (v instanceof Date ? v : new Date(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v));

function fromRow(r: OutboxRow): OutboxMail {
  return {
    key: r.key,
    kind: r.kind as MailKind,
    recipient: r.recipient,
    subject: r.subject,
    status: r.status as OutboxStatus,
    messageId: r.message_id,
    attempts: Number(r.attempts),
    smtpResponse: r.smtp_response,
    lastError: r.last_error,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
    sentAt: r.sent_at === null ? null : toDate(r.sent_at),
  };
}

/** `clock` stamps bookkeeping columns (when a row changed, when a lease ends); it is not a business date. */
/** A new outbox row, not yet sent; `claim` holds it for the attempt that writes it. */
function pendingRow(mail: NewOutboxMail, now: Date, claim: { attempts: number; claimed_until?: Date }) {
  return {
    key: mail.key,
    kind: mail.kind,
    recipient: mail.recipient,
    subject: mail.subject,
    status: 'pending',
    message_id: mail.messageId,
    ...claim,
    created_at: now,
    updated_at: now,
  };
}

export function createMailOutboxStore(db: Db, clock: () => Date = () => new Date()): MailOutboxStore {
  const get = async (key: string): Promise<OutboxMail | undefined> => {
    const row = await db<OutboxRow>(table).where({ key }).first();
    return row ? fromRow(row as OutboxRow) : undefined;
  };

  return {
    get,

    async enqueue(mail) {
      await db(table)
        .insert(pendingRow(mail, clock(), { attempts: 0 }))
        .onConflict('key')
        .ignore();
      return (await get(mail.key))!;
    },

    async enqueueClaimed(mail, leaseMs) {
      const now = clock();
      const inserted = await db(table)
        .insert(pendingRow(mail, now, { attempts: 1, claimed_until: new Date(now.getTime() + leaseMs) }))
        .onConflict('key')
        .ignore()
        .returning('key');
      return inserted.length === 1;
    },

    async claim(key, leaseMs) {
      const now = clock();
      const claimed = await db(table)
        .where({ key, status: 'pending' })
        .andWhere((q) => q.whereNull('claimed_until').orWhere('claimed_until', '<', now))
        .update({
          claimed_until: new Date(now.getTime() + leaseMs),
          attempts: db.raw('attempts + 1'),
          updated_at: now,
        });
      return claimed === 1;
    },

    async markSent(key, smtpResponse) {
      const now = clock();
      await db(table)
        .where({ key })
        .update({ status: 'sent', smtp_response: smtpResponse, claimed_until: null, sent_at: now, updated_at: now });
    },

    async markFailed(key, reason) {
      await db(table).where({ key }).update({ status: 'failed', last_error: reason, claimed_until: null, updated_at: clock() });
    },

    async release(key, error) {
      await db(table)
        .where({ key, status: 'pending' })
        .update({ last_error: error, claimed_until: null, updated_at: clock() });
    },

    async listFailedMails({ limit = 100 } = {}) {
      const rows = await db<OutboxRow>(`${table} as m`)
        .select('m.*')
        .where('m.status', 'failed')
        // A resent mail is followed up already: its resend row (sent, pending, or failed and listed itself) speaks for it.
        .whereNotExists((q) => q.select(db.raw('1')).from(`${table} as r`).whereRaw(`r.key = m.key || ?`, [resendKeyOf('')]))
        .orderBy('m.updated_at', 'desc')
        .limit(limit);
      return (rows as OutboxRow[]).map(fromRow);
    },

    async listByKeyPrefix(prefix) {
      const rows = await db<OutboxRow>(table)
        .whereRaw(`key ${LIKE_ESCAPED}`, [likePattern(prefix, 'prefix')])
        .orderBy([{ column: 'created_at', order: 'asc' }, { column: 'key', order: 'asc' }]);
      return (rows as OutboxRow[]).map(fromRow);
    },

    async countPending() {
      const row = await db(table).where({ status: 'pending' }).count({ n: '*' }).first();
      // PostgreSQL's count is a bigint, which pg returns as a string.
      return Number(row?.n ?? 0);
    },
  };
}
