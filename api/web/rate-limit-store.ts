// express-rate-limit's hit counts in the application database, so every web process counts the same client once.
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Db } from '../../infra/db';

/** The table the migration 20261126_004_shared_state creates. */
export const RATE_LIMIT_TABLE = 'rate_limit_hits';

type Row = { hits: number | string; reset_at: number | string };

const info = (row: Row): ClientRateLimitInfo => ({ totalHits: Number(row.hits), resetTime: new Date(Number(row.reset_at)) });

/**
 * A fixed window per key: the first hit opens it for `windowMs`, later hits count in it, the first hit after it opens
 * the next. Each increment is one upsert … returning, atomic on SQLite and PostgreSQL alike.
 */
export class DatabaseRateLimitStore implements Store {
  /** Counts are shared between processes: express-rate-limit's double-count check must not treat them as local. */
  readonly localKeys = false;
  private windowMs = 60_000;
  private nextPruneAt = 0;

  constructor(
    private readonly db: Db,
    /** Sets this limiter's keys apart from another's in the same table. */
    readonly prefix: string,
    private readonly clock: () => number = Date.now,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const row = await this.db(RATE_LIMIT_TABLE).where({ key: this.prefix + key }).andWhere('reset_at', '>', this.clock()).first<Row | undefined>();
    return row ? info(row) : undefined;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const now = this.clock();
    const resetAt = now + this.windowMs;
    const table = RATE_LIMIT_TABLE;
    const [row] = await this.db(table)
      .insert({ key: this.prefix + key, hits: 1, reset_at: resetAt })
      .onConflict('key')
      .merge({
        // Both right-hand sides read the row as it was, so a lapsed window restarts at 1 with its new end.
        hits: this.db.raw(`case when ??.reset_at <= ? then 1 else ??.hits + 1 end`, [table, now, table]),
        reset_at: this.db.raw(`case when ??.reset_at <= ? then ? else ??.reset_at end`, [table, now, resetAt, table]),
      })
      .returning<Row[]>(['hits', 'reset_at']);
    await this.pruneLapsedWindows(now);
    return info(row!);
  }

  async decrement(key: string): Promise<void> {
    await this.db(RATE_LIMIT_TABLE)
      .where({ key: this.prefix + key })
      .andWhere('hits', '>', 0)
      .andWhere('reset_at', '>', this.clock())
      .decrement('hits', 1);
  }

  async resetKey(key: string): Promise<void> {
    await this.db(RATE_LIMIT_TABLE).where({ key: this.prefix + key }).del();
  }

  /** Clients that never come back leave a row behind: once a window, this process deletes every lapsed one. */
  private async pruneLapsedWindows(now: number): Promise<void> {
    if (now < this.nextPruneAt) return;
    this.nextPruneAt = now + this.windowMs;
    await this.db(RATE_LIMIT_TABLE).where('reset_at', '<=', now).del();
  }
}

export function createRateLimitStore(db: Db, prefix: string): DatabaseRateLimitStore {
  return new DatabaseRateLimitStore(db, prefix);
}
