// Migrations listed in order, so they load the same way under tsx, jest and compiled JavaScript.
import type { Knex } from 'knex';
import * as lifecycle from './20261125_001_lifecycle';
import * as pki from './20261125_002_pki';
import * as mail from './20261125_003_mail';
import * as sharedState from './20261126_004_shared_state';
import * as ocspResponders from './20261126_009_ocsp_responders';

type Migration = { up(db: Knex): Promise<void>; down(db: Knex): Promise<void> };

const migrations: Array<[string, Migration]> = [
  ['20261125_001_lifecycle', lifecycle],
  ['20261125_002_pki', pki],
  ['20261125_003_mail', mail],
  ['20261126_004_shared_state', sharedState],
  ['20261126_009_ocsp_responders', ocspResponders],
];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations.map(([, m]) => m),
  getMigrationName: (m) => migrations.find(([, x]) => x === m)![0],
  getMigration: async (m) => m,
};
