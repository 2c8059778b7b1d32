// Knex connection factory and migration runner; SQLite by default, PostgreSQL for production.
import fs from 'node:fs';
import path from 'node:path';
import knex, { Knex } from 'knex';
import { migrationSource } from '../migrations';

export type Db = Knex;

export interface DbSettings {
  client: 'sqlite' | 'pg';
  connection: string;
}

export function createDb(settings: DbSettings): Db {
  if (settings.client === 'pg') {
    return knex({ client: 'pg', connection: settings.connection, pool: { min: 0, max: 10 } });
  }
  if (settings.connection !== ':memory:') fs.mkdirSync(path.dirname(settings.connection), { recursive: true });
  return knex({
    client: 'better-sqlite3',
    connection: { filename: settings.connection },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      // WAL lets readers proceed while the worker writes; the busy timeout absorbs short write contention.
      afterCreate: (conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
        conn.pragma('journal_mode = WAL');
        conn.pragma('busy_timeout = 5000');
        conn.pragma('foreign_keys = ON');
        done(null, conn);
      },
    },
  });
}

export async function migrateToLatest(db: Db): Promise<void> {
  await db.migrate.latest({ migrationSource });
}

export async function rollbackAll(db: Db): Promise<void> {
  await db.migrate.rollback({ migrationSource }, true);
}

export async function ping(db: Db): Promise<void> {
  await db.raw('select 1');
}
