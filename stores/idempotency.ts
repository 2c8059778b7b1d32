// Data access for the support API's idempotency keys: one row per caller and key, claimed before the call runs.
import type { Db } from '../infra/db';

export interface StoredAnswer {
  status: number;
  sealedAnswer: string;
  nonce: string;
}

export type IdempotencyClaim =
  /** `resumed`: an earlier call with this key and request held it and never answered (its process died); what it did stands. */
  | { claimed: true; resumed: boolean }
  | { claimed: false; requestHash: string; answer?: StoredAnswer };

interface Row {
  request_hash: string;
  state: string;
  status: number | null;
  sealed_answer: string | null;
  nonce: string | null;
}

export interface IdempotencyStore {
  /**
   * Takes the key for this request for `leaseMs`, or returns what an earlier request with the key left (its answer once
   * done). A claim whose lease ran out unanswered is taken over by the same request (`resumed`); a kept answer lives
   * `ttlMs`, and so does a dead claim no one came back for.
   */
  claim(agent: string, key: string, requestHash: string, now: number, times: { leaseMs: number; ttlMs: number }): Promise<IdempotencyClaim>;
  /** The first answer, kept until `expiresAt`. */
  complete(agent: string, key: string, answer: StoredAnswer, expiresAt: number): Promise<void>;
  /**
   * The call failed without an answer worth repeating (a server error): a retry may run it again. A resumed call's
   * claim stays, lapsed, so the next retry resumes too (the dead call's work still stands).
   */
  release(agent: string, key: string, options?: { resumed?: boolean; now?: number }): Promise<void>;
}

export function createIdempotencyStore(db: Db): IdempotencyStore {
  return {
    async claim(agent, key, requestHash, now, { leaseMs, ttlMs }) {
      // The same request again after its first call died unanswered: one retry takes the claim over (one UPDATE, so
      // of two retries at once only one matches).
      const resumed = await db('idempotency_keys')
        .where({ agent, key, request_hash: requestHash, state: 'pending' })
        .andWhere('expires_at', '<=', now)
        .update({ expires_at: now + leaseMs });
      if (resumed > 0) return { claimed: true, resumed: true };
      // A lapsed answer is forgotten, so its key can be used again; so is a dead claim after the answers' lifetime.
      await db('idempotency_keys')
        .where((q) => q.where({ state: 'done' }).andWhere('expires_at', '<=', now))
        .orWhere((q) => q.where({ state: 'pending' }).andWhere('expires_at', '<=', now - ttlMs))
        .del();
      const inserted = await db('idempotency_keys')
        .insert({ agent, key, request_hash: requestHash, state: 'pending', expires_at: now + leaseMs })
        .onConflict(['agent', 'key'])
        .ignore()
        .returning<Array<{ key: string }>>(['key']);
      if (inserted.length > 0) return { claimed: true, resumed: false };
      const row = (await db('idempotency_keys').where({ agent, key }).first()) as Row | undefined;
      // Deleted between the insert and the read (it lapsed just then): treat as in progress, a retry settles it.
      if (!row) return { claimed: false, requestHash };
      const answer = row.state === 'done' && row.status !== null && row.sealed_answer && row.nonce
        ? { status: Number(row.status), sealedAnswer: row.sealed_answer, nonce: row.nonce }
        : undefined;
      return { claimed: false, requestHash: row.request_hash, answer };
    },
    async complete(agent, key, answer, expiresAt) {
      await db('idempotency_keys')
        .where({ agent, key, state: 'pending' })
        .update({ state: 'done', status: answer.status, sealed_answer: answer.sealedAnswer, nonce: answer.nonce, expires_at: expiresAt });
    },
    async release(agent, key, { resumed = false, now = Date.now() } = {}) {
      const claim = db('idempotency_keys').where({ agent, key, state: 'pending' });
      await (resumed ? claim.update({ expires_at: now }) : claim.del());
    },
  };
}
