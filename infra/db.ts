// Knex connection factory and migration runner; SQLite by default, PostgreSQL for production.
import fs from 'node:fs';
import path from 'node:path';
import knex, { Knex } from 'knex';
import { migrationSource, migrationSourceWith, type MigrationContext } from '../migrations';

export type Db = Knex;

export interface DbSettings {
  client: 'sqlite' | 'pg';
  connection: string;
}

// migrateToLatest waits for knex's migration lock itself and says so if it gives up: knex's advice on every try is noise.
const KNEX_LOCK_ADVICE = /^Can't take lock to run migrations|^If you are sure migrations are not running/;
const log = {
  warn(message: unknown) {
    if (typeof message === 'string' && KNEX_LOCK_ADVICE.test(message)) return;
    console.warn(message);
  },
};

export function createDb(settings: DbSettings): Db {
  if (settings.client === 'pg') {
    return knex({ client: 'pg', connection: settings.connection, pool: { min: 0, max: 10 }, log });
  }
  if (settings.connection !== ':memory:') fs.mkdirSync(path.dirname(settings.connection), { recursive: true });
  return knex({
    client: 'better-sqlite3',
    connection: { filename: settings.connection },
    useNullAsDefault: true,
    log,
    pool: {
      min: 1,
      max: 1,
      // WAL lets readers proceed while the worker writes; the busy timeout absorbs short write contention.
      afterCreate: (conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
        // The busy timeout first: switching to WAL waits for a lock another process may hold while it opens the same file.
        conn.pragma('busy_timeout = 5000');
        conn.pragma('journal_mode = WAL');
        conn.pragma('foreign_keys = ON');
        done(null, conn);
      },
    },
  });
}

export interface MigrateOptions {
  /** How long to keep retrying while another process holds the migration lock (default 2 minutes). */
  waitMs?: number;
  /** What migrations need from the installation (the audit key's chaining of existing rows). */
  context?: MigrationContext;
}

export const DEFAULT_MIGRATION_WAIT_MS = 120_000;

/** Any one key for the advisory lock of certflow's migrations, the same in every process. */
export const MIGRATION_LOCK_KEY = 0x63666d67; // "cfmg"

export class MigrationLockTimeout extends Error {
  constructor(waitedMs: number, cause: unknown) {
    super(
      `database migrations are still locked by another process after ${Math.round(waitedMs / 1000)} s; ` +
        'if no other certflow process is starting, a crashed run left the lock: clear it with `update knex_migrations_lock set is_locked = 0`',
      { cause },
    );
    this.name = 'MigrationLockTimeout';
  }
}

/**
 * Migrates to the latest schema; safe when several processes start at once. On PostgreSQL they queue on an advisory
 * lock (so even the creation of knex's own tables never races); a run that still finds knex's migration lock taken
 * (SQLite, or a knex CLI elsewhere) waits and retries until `waitMs`, then fails with MigrationLockTimeout.
 */
export async function migrateToLatest(db: Db, options: MigrateOptions = {}): Promise<void> {
  const waitMs = options.waitMs ?? DEFAULT_MIGRATION_WAIT_MS;
  const source = options.context ? migrationSourceWith(options.context) : migrationSource;
  if (db.client.config.client !== 'pg') return migrateWithRetries(db, waitMs, source);
  // The transaction only holds the lock; the migrations run on other connections of the pool and commit on their own.
  await db.transaction(async (trx) => {
    await trx.raw(`set local lock_timeout = ${Math.max(1, Math.ceil(waitMs))}`);
    try {
      await trx.raw('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY]);
    } catch (err) {
      if ((err as { code?: string }).code === '55P03') throw new MigrationLockTimeout(waitMs, err);
      throw err;
    }
    await migrateWithRetries(db, waitMs, source);
  });
}

async function migrateWithRetries(db: Db, waitMs: number, source: typeof migrationSource): Promise<void> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      if (db.client.config.client !== 'pg') await ensureOneLockRow(db);
      await db.migrate.latest({ migrationSource: source });
      return;
    } catch (err) {
      if (!isConcurrentMigration(err)) throw err;
      const waited = Date.now() - started;
      if (waited >= waitMs) throw new MigrationLockTimeout(waited, err);
      // Backs off from 50 ms to 1 s, with jitter so processes that collided do not collide again in step.
      const delay = Math.min(1000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, waitMs - waited)));
    }
  }
}

/**
 * Knex makes its lock table's one row with a check and then an insert, outside any transaction: processes migrating a
 * new SQLite file together could each insert one, and knex, which takes the lock only when its update changes exactly
 * one row, then never took it (every start waited out its migration wait). The table and its row are made here in one
 * transaction instead (SQLite serialises it against the other processes' writes), and a file left with extra rows by
 * an earlier version is repaired. PostgreSQL needs none of this: its runs queue on the advisory lock first.
 */
async function ensureOneLockRow(db: Db): Promise<void> {
  await db.transaction(async (trx) => {
    await trx.raw('create table if not exists `knex_migrations_lock` (`index` integer not null primary key autoincrement, `is_locked` integer)');
    const rows: Array<{ index: number }> = await trx('knex_migrations_lock').select('index').orderBy('index');
    if (rows.length === 0) await trx('knex_migrations_lock').insert({ is_locked: 0 });
    else if (rows.length > 1) await trx('knex_migrations_lock').where('index', '>', rows[0]!.index).delete();
  });
}

/** Knex's lock taken by another run, or its bookkeeping tables created by another run between its check and its create. */
function isConcurrentMigration(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: string };
  if (e.name === 'MigrationLocked') return true;
  return /knex_migrations(_lock)?\b.*already exists|SQLITE_BUSY|database is locked/i.test(`${e.message ?? ''} ${e.code ?? ''}`);
}

export async function rollbackAll(db: Db): Promise<void> {
  await db.migrate.rollback({ migrationSource }, true);
}

export async function ping(db: Db): Promise<void> {
  await db.raw('select 1');
}
