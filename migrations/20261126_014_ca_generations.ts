// CA rollover: several CA generations per profile (the highest signs new certificates); each certificate, CRL and OCSP
// responder belongs to the generation that signed it, so an older CA keeps its own CRL and OCSP until its last certificate expires.
import type { Knex } from 'knex';

/** Tables keyed by profile that become keyed by profile + CA generation (existing rows are generation 1). */
const KEYED: Array<[table: string, column: string]> = [
  ['certificate_authorities', 'generation'],
  ['certificate_revocation_lists', 'ca_generation'],
  ['ocsp_responders', 'ca_generation'],
];

export async function up(db: Knex): Promise<void> {
  for (const [table, column] of KEYED) {
    await db.schema.alterTable(table, (t) => {
      t.integer(column).notNullable().defaultTo(1);
    });
    await db.schema.alterTable(table, (t) => {
      t.dropPrimary();
      t.primary(['profile', column]);
    });
  }
  await db.schema.alterTable('issued_certificates', (t) => {
    t.integer('ca_generation').notNullable().defaultTo(1);
    t.index(['profile', 'ca_generation', 'not_after']); // when an older CA's last certificate expires
  });
}

export async function down(db: Knex): Promise<void> {
  // Only the first generation fits the one-CA-per-profile schema: later ones (and what they signed) are not kept.
  await db('issued_certificates').where('ca_generation', '>', 1).delete();
  await db.schema.alterTable('issued_certificates', (t) => {
    t.dropIndex(['profile', 'ca_generation', 'not_after']);
    t.dropColumn('ca_generation');
  });
  for (const [table, column] of [...KEYED].reverse()) {
    await db(table).where(column, '>', 1).delete();
    await db.schema.alterTable(table, (t) => {
      t.dropPrimary();
      t.primary(['profile']);
    });
    await db.schema.alterTable(table, (t) => {
      t.dropColumn(column);
    });
  }
}
