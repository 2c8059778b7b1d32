// Whether a server certflow depends on answers now, asked at most once per interval and shared by every caller.
import { withTimeout } from './timeout';

export interface ReachabilityOptions {
  /** How long an answer stands before the server is asked again. */
  ttlMs?: number;
  /** Bound on one probe; a probe that takes longer counts as "down". */
  timeoutMs?: number;
}

/**
 * Callers learn at once that a server is down instead of each waiting out its client's retries (Temporal's client
 * retries an unreachable server for some 20 s). `check` gets the probe's bound and rejects when the server is down.
 */
export function createReachabilityProbe(check: (timeoutMs: number) => Promise<unknown>, { ttlMs = 2_000, timeoutMs = 1_000 }: ReachabilityOptions = {}): () => Promise<boolean> {
  let last: { at: number; reachable: Promise<boolean> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= ttlMs) {
      last = { at: now, reachable: withTimeout(Promise.resolve().then(() => check(timeoutMs)), timeoutMs).then(() => true, () => false) };
    }
    return last.reachable;
  };
}
