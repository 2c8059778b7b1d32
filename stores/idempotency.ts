// Data access for the support API's idempotency keys: one row per caller and key, claimed before the call runs.
import type { Db } from '../infra/db';

export interface StoredAnswer {
  status: number;
  sealedAnswer: string;
  nonce: string;
}

export type IdempotencyClaim =
  | { claimed: true }
  | { claimed: false; requestHash: string; answer?: StoredAnswer };

interface Row {
  request_hash: string;
  state: string;
  status: number | null;
  sealed_answer: string | null;
  nonce: string | null;
}

export interface IdempotencyStore {
  /** Takes the key for this request, or returns what an earlier request with the key left (its answer once done). */
  claim(agent: string, key: string, requestHash: string, now: number, ttlMs: number): Promise<IdempotencyClaim>;
  /** The first answer, kept for the key's lifetime. */
  complete(agent: string, key: string, answer: StoredAnswer): Promise<void>;
  /** The call failed without an answer worth repeating (a server error): a retry may run it again. */
  release(agent: string, key: string): Promise<void>;
}

export function createIdempotencyStore(db: Db): IdempotencyStore {
  return {
    async claim(agent, key, requestHash, now, ttlMs) {
      // A lapsed key is forgotten first, so it can be used again.
      await db('idempotency_keys').where('expires_at', '<=', now).del();
      const inserted = await db('idempotency_keys')
        .insert({ agent, key, request_hash: requestHash, state: 'pending', expires_at: now + ttlMs })
        .onConflict(['agent', 'key'])
        .ignore()
        .returning<Array<{ key: string }>>(['key']);
      if (inserted.length > 0) return { claimed: true };
      const row = (await db('idempotency_keys').where({ agent, key }).first()) as Row | undefined;
      // Deleted between the insert and the read (it lapsed just then): treat as in progress, a retry settles it.
      if (!row) return { claimed: false, requestHash };
      const answer = row.state === 'done' && row.status !== null && row.sealed_answer && row.nonce
        ? { status: Number(row.status), sealedAnswer: row.sealed_answer, nonce: row.nonce }
        : undefined;
      return { claimed: false, requestHash: row.request_hash, answer };
    },
    async complete(agent, key, answer) {
      await db('idempotency_keys').where({ agent, key }).update({ state: 'done', status: answer.status, sealed_answer: answer.sealedAnswer, nonce: answer.nonce });
    },
    async release(agent, key) {
      await db('idempotency_keys').where({ agent, key, state: 'pending' }).del();
    },
  };
}
