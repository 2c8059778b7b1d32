// Migration import: the previous CAs a bank's live certificates chain to (per profile, with their last CRL), and each
// imported certificate's request, keyed by issuer and serial so the same certificate is never imported twice.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('previous_cas', (t) => {
    t.string('profile', 32).notNullable();
    t.string('fingerprint', 64).notNullable(); // SHA-256 of the CA certificate's DER, hex lower case
    t.text('subject').notNullable();
    t.text('certificate_pem').notNullable();
    t.timestamp('not_after', { useTz: true }).notNullable();
    t.binary('crl_der'); // the previous CA's CRL as registered (its last one, once that CA is retired)
    t.timestamp('crl_this_update', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.primary(['profile', 'fingerprint']);
  });
  await db.schema.createTable('imported_certificates', (t) => {
    t.string('issuer_fingerprint', 64).notNullable();
    t.string('serial', 40).notNullable(); // hex lower case, no leading zeros
    t.string('fingerprint', 64).notNullable(); // SHA-256 of the certificate's DER: the TLS check admits this certificate only
    t.string('profile', 32).notNullable();
    t.string('user_id', 64).notNullable();
    t.string('request_id', 32).notNullable().unique();
    t.timestamp('not_before', { useTz: true }).notNullable();
    t.timestamp('not_after', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.primary(['issuer_fingerprint', 'serial']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('imported_certificates');
  await db.schema.dropTable('previous_cas');
}
