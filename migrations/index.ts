// Migrations listed in order, so they load the same way under tsx, jest and compiled JavaScript.
import type { Knex } from 'knex';
import * as lifecycle from './20261125_001_lifecycle';
import * as pki from './20261125_002_pki';
import * as mail from './20261125_003_mail';
import * as sharedState from './20261126_004_shared_state';
import * as operators from './20261126_005_operators';
import * as supportSearch from './20261126_006_support_search';
import * as imports from './20261126_007_imports';
import * as migrationImport from './20261126_008_migration_import';
import * as ocspResponders from './20261126_009_ocsp_responders';
import * as loginThrottle from './20261126_010_login_throttle';
import * as auditChain from './20261126_011_audit_chain';
import * as idempotency from './20261126_012_idempotency';
import * as keyPool from './20261126_013_key_pool';
import * as caGenerations from './20261126_014_ca_generations';
import * as scaleIndexes from './20261126_015_scale_indexes';
import * as sealedSecretRetention from './20261127_016_sealed_secret_retention';

/**
 * What a migration may need from the running installation beyond the database: given by the composition root
 * (worker/composition.ts) through migrateToLatest; absent in tests and tools that migrate an empty database.
 */
export interface MigrationContext {
  /** Chains the audit rows that have no hash yet with the installation's key (011 on a trail that has rows). */
  chainAuditRows?: (db: Knex) => Promise<unknown>;
}

type Migration = { up(db: Knex, context: MigrationContext): Promise<void>; down(db: Knex): Promise<void> };

const migrations: Array<[string, Migration]> = [
  ['20261125_001_lifecycle', lifecycle],
  ['20261125_002_pki', pki],
  ['20261125_003_mail', mail],
  ['20261126_004_shared_state', sharedState],
  ['20261126_005_operators', operators],
  ['20261126_006_support_search', supportSearch],
  ['20261126_007_imports', imports],
  ['20261126_008_migration_import', migrationImport],
  ['20261126_009_ocsp_responders', ocspResponders],
  ['20261126_010_login_throttle', loginThrottle],
  ['20261126_011_audit_chain', auditChain],
  ['20261126_012_idempotency', idempotency],
  ['20261126_013_key_pool', keyPool],
  ['20261126_014_ca_generations', caGenerations],
  ['20261126_015_scale_indexes', scaleIndexes],
  ['20261127_016_sealed_secret_retention', sealedSecretRetention],
];

/** The migrations, each `up` given `context`. */
export function migrationSourceWith(context: MigrationContext): Knex.MigrationSource<Migration> {
  return {
    getMigrations: async () => migrations.map(([, m]) => m),
    getMigrationName: (m) => migrations.find(([, x]) => x === m)![0],
    getMigration: async (m) => ({ up: (db: Knex) => m.up(db, context), down: (db: Knex) => m.down(db) }),
  };
}

export const migrationSource = migrationSourceWith({});
