// Idempotency-Key on the support API's state-changing calls: a retry after a lost reply gets the first answer again
// instead of doing the work twice (a second registration's 409, a second reissue's new password).
import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import { open, seal } from '../../infra/aead';
import type { Actor } from '../../domain';
import type { IdempotencyStore } from '../../stores';
import { HttpError, toHttpError } from '../errors';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** Printable ASCII, as a UUID or any client-made token is. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** How long a first answer is kept: a client retries within minutes; a day leaves room for a retry after an outage. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;
/**
 * How long a call holds its key unanswered before a retry may take it over (its process died: `kill -9`, a crash):
 * well above the longest call, whose Temporal calls are refused at once while Temporal is away.
 */
export const IDEMPOTENCY_CLAIM_LEASE_MS = 60_000;

export const IDEMPOTENCY_REFUSALS = {
  409: 'a request with this Idempotency-Key is still being answered; retry in a moment',
  422: 'this Idempotency-Key was used before with a different request',
} as const;

/** An answer as it goes over the wire: its status and its JSON text. */
export interface WireAnswer {
  status: number;
  json: string;
}

const label = (agent: string, key: string) => `certflow:api:idempotency:${agent}:${key}`;

/** What a key is bound to: the operation, its path and its body. */
export function requestHash(operationId: string, req: Pick<Request, 'originalUrl' | 'body'>): string {
  const body = Buffer.isBuffer(req.body) ? req.body.toString('base64') : typeof req.body === 'string' ? req.body : JSON.stringify(req.body ?? null);
  return crypto.createHash('sha256').update(JSON.stringify([operationId, req.originalUrl, body])).digest('hex');
}

/**
 * Runs `answer` once per (caller, key): the first answer — success or refusal — is kept sealed under the data key
 * (a reissue's answer holds an enrollment password) and sent again to every retry; a server error keeps nothing.
 * Without the header the call simply runs. A retry after the first call died unanswered runs `answer` again with
 * `resumed`: what the dead call did stands, and the call finishes it.
 */
export async function answerOnce(
  { store, dataKey }: { store: IdempotencyStore; dataKey: Buffer },
  operationId: string,
  req: Request,
  res: Response,
  answer: (claim: { resumed: boolean }) => Promise<WireAnswer>,
): Promise<WireAnswer> {
  const key = req.get(IDEMPOTENCY_HEADER);
  if (key === undefined) return answer({ resumed: false });
  if (!IDEMPOTENCY_KEY.test(key)) throw HttpError.badRequest(`${IDEMPOTENCY_HEADER}: must be 1 to 255 printable ASCII characters`, IDEMPOTENCY_HEADER);
  const agent = (res.locals.actor as Actor).agent;
  const hash = requestHash(operationId, req);
  const claim = await store.claim(agent, key, hash, Date.now(), { leaseMs: IDEMPOTENCY_CLAIM_LEASE_MS, ttlMs: IDEMPOTENCY_TTL_MS });
  if (!claim.claimed) {
    if (claim.requestHash !== hash) throw new HttpError(422, 'idempotency_key_reused', IDEMPOTENCY_REFUSALS[422]);
    if (!claim.answer) throw new HttpError(409, 'idempotency_request_in_progress', IDEMPOTENCY_REFUSALS[409]);
    res.set('Idempotent-Replayed', 'true');
    const json = open(dataKey, label(agent, key), { ciphertext: Buffer.from(claim.answer.sealedAnswer, 'base64'), nonce: Buffer.from(claim.answer.nonce, 'base64') }).toString('utf8');
    return { status: claim.answer.status, json };
  }
  let first: WireAnswer;
  try {
    first = await answer({ resumed: claim.resumed });
  } catch (err) {
    const refusal = toHttpError(err);
    if (refusal.status >= 500) {
      await store.release(agent, key, { resumed: claim.resumed });
      throw err;
    }
    first = { status: refusal.status, json: JSON.stringify({ error: refusal.code, message: refusal.message, ...(refusal.field ? { field: refusal.field } : {}) }) };
  }
  const sealed = seal(dataKey, label(agent, key), Buffer.from(first.json, 'utf8'));
  await store.complete(agent, key, { status: first.status, sealedAnswer: sealed.ciphertext.toString('base64'), nonce: sealed.nonce.toString('base64') }, Date.now() + IDEMPOTENCY_TTL_MS);
  return first;
}
