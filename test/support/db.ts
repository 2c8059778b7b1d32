// A fresh, migrated SQLite database in a temporary folder for one test file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, migrateToLatest, type Db } from '../../infra/db';

export async function createTestDb(): Promise<{ db: Db; dir: string; file: string; destroy(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-db-'));
  const file = path.join(dir, 'certflow.sqlite');
  const db = createDb({ client: 'sqlite', connection: file });
  await migrateToLatest(db);
  return {
    db,
    dir,
    file,
    async destroy() {
      await db.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
