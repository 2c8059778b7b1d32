// OCSP: each profile's delegated responder (certificate and key, the key encrypted like the CA's), renewed in place.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('ocsp_responders', (t) => {
    t.string('profile', 32).primary(); // one current responder per CA: the key concurrent renewals race on
    t.string('serial', 40).notNullable(); // hex, lower case; a renewal replaces the row only if it still holds this serial
    t.text('certificate_pem').notNullable();
    t.text('encrypted_key_pem').notNullable(); // PKCS#8 encrypted with CERTFLOW_CA_PASSPHRASE
    t.timestamp('not_before', { useTz: true }).notNullable();
    t.timestamp('not_after', { useTz: true }).notNullable();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('ocsp_responders');
}
