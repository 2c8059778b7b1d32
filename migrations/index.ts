// Migrations listed in order, so they load the same way under tsx, jest and compiled JavaScript.
import type { Knex } from 'knex';
import * as lifecycle from './20261125_001_lifecycle';
import * as pki from './20261125_002_pki';
import * as mail from './20261125_003_mail';
import * as sharedState from './20261126_004_shared_state';
import * as operators from './20261126_005_operators';
import * as supportSearch from './20261126_006_support_search';
import * as loginThrottle from './20261126_010_login_throttle';
import * as idempotency from './20261126_012_idempotency';
import * as keyPool from './20261126_013_key_pool';

type Migration = { up(db: Knex): Promise<void>; down(db: Knex): Promise<void> };

const migrations: Array<[string, Migration]> = [
  ['20261125_001_lifecycle', lifecycle],
  ['20261125_002_pki', pki],
  ['20261125_003_mail', mail],
  ['20261126_004_shared_state', sharedState],
  ['20261126_005_operators', operators],
  ['20261126_006_support_search', supportSearch],
  ['20261126_010_login_throttle', loginThrottle],
  ['20261126_012_idempotency', idempotency],
  ['20261126_013_key_pool', keyPool],
];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations.map(([, m]) => m),
  getMigrationName: (m) => migrations.find(([, x]) => x === m)![0],
  getMigration: async (m) => m,
};
