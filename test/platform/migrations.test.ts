// Every migration runs up and back down on each supported database, leaving an empty schema that can be migrated again;
// several processes starting at once all end up on the latest schema.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createDb, MIGRATION_LOCK_KEY, MigrationLockTimeout, migrateToLatest, rollbackAll, type Db, type DbSettings } from '../../infra/db';
import { migrationSource } from '../../migrations';
import { forEachDatabase, useTestDatabase } from '../support/databases';

/** Tables, indexes and sequences the migrations own (knex's own bookkeeping left out). */
async function schemaObjects(db: Db): Promise<string[]> {
  if (db.client.config.client === 'pg') {
    const result = await db.raw(
      "select c.relkind::text || ':' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = current_schema() and c.relname not like 'knex\\_%' order by 1",
    );
    return result.rows.map((r: { name: string }) => r.name);
  }
  const rows: Array<{ name: string }> = await db.raw(
    "select type || ':' || name as name from sqlite_master where name not like 'sqlite\\_%' escape '\\' and name not like 'knex\\_%' escape '\\' order by 1",
  );
  return rows.map((r) => r.name);
}

forEachDatabase(
  'migrations',
  (database) => {
    test('when all migrations run up, then down, then up again, then the schema is created, emptied and recreated the same', async () => {
      const { db } = database;
      expect(await schemaObjects(db)).toEqual([]);
      await migrateToLatest(db);
      const created = await schemaObjects(db);
      const tables = created.filter((o) => /^(table|r):/.test(o)).map((o) => o.replace(/^[^:]+:/, ''));
      expect(tables).toEqual(
        expect.arrayContaining([
          'users',
          'requests',
          'request_sequences',
          'audit_events',
          'issued_certificates',
          'certificate_revocation_lists',
          'mail_outbox',
          'sealed_secrets',
          'web_sessions',
          'rate_limit_hits',
          'certificate_authorities',
          'operators',
          'imports',
          'import_lines',
          'previous_cas',
          'imported_certificates',
          'ocsp_responders',
          'key_pool',
        ]),
      );

      await rollbackAll(db);
      expect(await schemaObjects(db)).toEqual([]);

      await migrateToLatest(db);
      expect(await schemaObjects(db)).toEqual(created);
    });

    test('when several processes migrate a new database at once, then every one succeeds and each migration ran once', async () => {
      const { db } = database;
      // Each process has its own pool, as separate web and worker processes do.
      const processes = [db, createDb(database.settings), createDb(database.settings)];
      try {
        await Promise.all(processes.map((p) => migrateToLatest(p)));
      } finally {
        for (const p of processes.slice(1)) await p.destroy();
      }
      const ran = (await db('knex_migrations').select('name')).map((r: { name: string }) => r.name);
      expect(ran.sort()).toEqual([...new Set(ran)].sort());
      // Every registered migration, once (counted from the list, so adding a migration does not change this test).
      expect(ran).toHaveLength((await migrationSource.getMigrations([])).length);
      expect(await db('knex_migrations_lock').select('is_locked')).toEqual([{ is_locked: 0 }]);
    });

    test("when knex's migration lock stays taken, then a start waits for it, carries on once it is free, and gives up with a clear error", async () => {
      const { db } = database;
      await migrateToLatest(db);
      await db('knex_migrations_lock').update({ is_locked: 1 });
      const started = Date.now();
      const refused = await migrateToLatest(db, { waitMs: 600 }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(MigrationLockTimeout);
      expect((refused as Error).message).toMatch(/still locked by another process after \d+ s; .*update knex_migrations_lock set is_locked = 0/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);

      setTimeout(() => void db('knex_migrations_lock').update({ is_locked: 0 }).then(() => undefined), 500);
      const waited = Date.now();
      await migrateToLatest(db, { waitMs: 20_000 });
      expect(Date.now() - waited).toBeGreaterThanOrEqual(450);
      expect(await db('knex_migrations_lock').select('is_locked')).toEqual([{ is_locked: 0 }]);
    });
  },
  { migrate: false, per: 'test' },
);

describe('migrations of a new SQLite file by separate processes', () => {
  const execFileAsync = promisify(execFile);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-migrate-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Knex makes its lock row with a check and an insert outside any transaction: processes that did this together used
  // to leave two rows, and then no process could ever take the lock (seen as ca:init runs waiting out their 2 minutes).
  test('when four processes migrate a new SQLite file at the same moment, round after round, then each succeeds and the lock table keeps one row', async () => {
    for (let round = 0; round < 4; round++) {
      const settings: DbSettings = { client: 'sqlite', connection: path.join(dir, `round-${round}.sqlite`) };
      // Far enough ahead that every process has loaded before the moment comes.
      const at = Date.now() + 4_000;
      const outputs = await Promise.all(
        [0, 1, 2, 3].map(() =>
          execFileAsync(process.execPath, ['--import', 'tsx', 'test/support/migrate-at.ts', JSON.stringify(settings), String(at)], { cwd: path.resolve(__dirname, '../..') }),
        ),
      );
      expect(outputs.map((o) => o.stdout.trim())).toEqual(['ok', 'ok', 'ok', 'ok']);
      const db = createDb(settings);
      try {
        expect(await db('knex_migrations_lock').select('is_locked')).toEqual([{ is_locked: 0 }]);
        expect(await db('knex_migrations').count({ n: '*' })).toEqual([{ n: (await migrationSource.getMigrations([])).length }]);
      } finally {
        await db.destroy();
      }
    }
  });

  test('when a file holds two knex lock rows (what that race left), then the next start repairs it and migrates', async () => {
    const settings: DbSettings = { client: 'sqlite', connection: path.join(dir, 'raced.sqlite') };
    const db = createDb(settings);
    try {
      await db.raw('create table `knex_migrations_lock` (`index` integer not null primary key autoincrement, `is_locked` integer)');
      await db('knex_migrations_lock').insert([{ is_locked: 0 }, { is_locked: 0 }]);
      await migrateToLatest(db, { waitMs: 2_000 });
      expect(await db('knex_migrations_lock').select('index', 'is_locked')).toEqual([{ index: 1, is_locked: 0 }]);
      expect(await db('knex_migrations').count({ n: '*' })).toEqual([{ n: (await migrationSource.getMigrations([])).length }]);
    } finally {
      await db.destroy();
    }
  });
});

describe('migrations on postgresql behind another migrating process', () => {
  const database = useTestDatabase('postgresql', { migrate: false });

  test('when another process holds the migration lock for longer than the wait, then the start fails with the clear error', async () => {
    const holder = createDb(database.settings);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const locked = new Promise<void>((resolve, reject) => {
      holder
        .transaction(async (trx) => {
          await trx.raw('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY]);
          resolve();
          await held;
        })
        .catch(reject);
    });
    try {
      await locked;
      const refused = await migrateToLatest(database.db, { waitMs: 500 }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(MigrationLockTimeout);
      expect(await schemaObjects(database.db)).toEqual([]);
      release();
      await migrateToLatest(database.db);
      expect((await schemaObjects(database.db)).length).toBeGreaterThan(0);
    } finally {
      release();
      await holder.destroy();
    }
  });
});
