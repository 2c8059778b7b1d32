// Every migration runs up and back down on SQLite, leaving an empty schema that can be migrated again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, migrateToLatest, rollbackAll, type Db } from '../../activities/infra/db';

let dir: string;
let db: Db;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-migrations-'));
  db = createDb({ client: 'sqlite', connection: path.join(dir, 'certflow.sqlite') });
});

afterAll(async () => {
  await db.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function applicationTables(): Promise<string[]> {
  const rows: Array<{ name: string }> = await db.raw("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'knex_%' order by name");
  return rows.map((r) => r.name);
}

test('when all migrations run up, then down, then up again, then the schema is created, emptied and recreated the same', async () => {
  await migrateToLatest(db);
  const created = await applicationTables();
  expect(created).toEqual(expect.arrayContaining(['users', 'requests', 'issued_certificates', 'certificate_revocation_lists']));

  await rollbackAll(db);
  expect(await applicationTables()).toEqual([]);

  await migrateToLatest(db);
  expect(await applicationTables()).toEqual(created);
});
