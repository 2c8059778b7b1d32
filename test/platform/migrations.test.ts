// Every migration runs up and back down on each supported database, leaving an empty schema that can be migrated again.
import { migrateToLatest, rollbackAll, type Db } from '../../infra/db';
import { forEachDatabase } from '../support/databases';

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
        expect.arrayContaining(['users', 'requests', 'request_sequences', 'audit_events', 'issued_certificates', 'certificate_revocation_lists', 'mail_outbox', 'sealed_secrets']),
      );

      await rollbackAll(db);
      expect(await schemaObjects(db)).toEqual([]);

      await migrateToLatest(db);
      expect(await schemaObjects(db)).toEqual(created);
    });
  },
  { migrate: false },
);
