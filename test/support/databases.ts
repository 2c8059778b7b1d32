// Every database certflow supports, for store tests: a fresh SQLite file or a fresh PostgreSQL database per use.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, migrateToLatest, type Db, type DbSettings } from '../../infra/db';

export type DatabaseKind = 'sqlite' | 'postgresql';
export const DATABASE_KINDS: readonly DatabaseKind[] = ['sqlite', 'postgresql'];

export interface TestDatabase {
  kind: DatabaseKind;
  settings: DbSettings;
  db: Db;
  /** Closes the pool and removes the file or drops the database. */
  destroy(): Promise<void>;
}

/** The run's PostgreSQL server; global-setup.ts guarantees it, so its absence is a broken set-up, never a skip. */
export function postgresServerUrl(): string {
  const url = process.env.CERTFLOW_TEST_PG_URL;
  if (!url) throw new Error('CERTFLOW_TEST_PG_URL is not set: run the tests through jest, whose globalSetup starts PostgreSQL');
  return url;
}

/** A fresh, empty database on the run's PostgreSQL server, for a caller that opens its own pool (e.g. the API stack's runtime). */
export async function createPostgresDatabase(): Promise<{ settings: DbSettings; drop(): Promise<void> }> {
  // A database of its own, so test files running in parallel never see each other's rows.
  const name = `certflow_test_${crypto.randomBytes(6).toString('hex')}`;
  const server = postgresServerUrl();
  const admin = createDb({ client: 'pg', connection: server });
  try {
    await admin.raw('create database ??', [name]);
  } finally {
    await admin.destroy();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    settings: { client: 'pg', connection: url.toString() },
    async drop() {
      const again = createDb({ client: 'pg', connection: server });
      try {
        await again.raw('drop database if exists ?? with (force)', [name]);
      } finally {
        await again.destroy();
      }
    },
  };
}

export async function createTestDatabase(kind: DatabaseKind, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  let settings: DbSettings;
  let cleanUp: () => Promise<void>;
  if (kind === 'postgresql') {
    const created = await createPostgresDatabase();
    settings = created.settings;
    cleanUp = created.drop;
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-db-'));
    settings = { client: 'sqlite', connection: path.join(dir, 'certflow.sqlite') };
    cleanUp = async () => fs.rmSync(dir, { recursive: true, force: true });
  }
  const db = createDb(settings);
  const destroy = async () => {
    await db.destroy();
    await cleanUp();
  };
  try {
    if (options.migrate !== false) await migrateToLatest(db);
  } catch (error) {
    await destroy();
    throw error;
  }
  return { kind, settings, db, destroy };
}

/**
 * Inside a describe: a database of this kind for its tests, fresh for the whole block (`per: 'block'`, the default)
 * or for each test (`per: 'test'`). Read `.db` inside hooks and tests, not at collection time.
 */
export function useTestDatabase(kind: DatabaseKind, options: { per?: 'block' | 'test'; migrate?: boolean } = {}): TestDatabase {
  let current: TestDatabase | undefined;
  const open = async () => {
    current = await createTestDatabase(kind, { migrate: options.migrate });
  };
  const close = async () => {
    await current?.destroy();
    current = undefined;
  };
  if (options.per === 'test') {
    beforeEach(open);
    afterEach(close);
  } else {
    beforeAll(open);
    afterAll(close);
  }
  const get = () => {
    if (!current) throw new Error('the test database is only open inside hooks and tests');
    return current;
  };
  return {
    kind,
    get settings() {
      return get().settings;
    },
    get db() {
      return get().db;
    },
    destroy: () => close(),
  };
}

/** `describe` once per supported database, named `<title> on sqlite` / `<title> on postgresql`. */
export function forEachDatabase(title: string, body: (database: TestDatabase) => void, options: { per?: 'block' | 'test'; migrate?: boolean } = {}): void {
  describe.each(DATABASE_KINDS)(`${title} on %s`, (kind) => body(useTestDatabase(kind, options)));
}

/**
 * Asserts that the database refused a row for a unique key, on either database. Not `rejects.toThrow`: better-sqlite3's
 * error class is loaded once per worker, so in a worker's second test file it is not an `Error` of that file's realm.
 */
export async function expectUniqueViolation(write: Promise<unknown>): Promise<void> {
  await expect(write).rejects.toMatchObject({ message: expect.stringMatching(/unique/i) });
}
