// PKI: issued certificates (also the admins' list) with their key sealed until download, and each CA's current CRL.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('issued_certificates', (t) => {
    t.string('serial', 40).primary(); // hex, lower case
    t.string('issuance_key', 48).notNullable().unique(); // request ID, or request ID + attempt after a lapsed download
    t.string('request_id', 32).notNullable();
    t.string('profile', 32).notNullable();
    t.string('user_id', 64).notNullable();
    t.text('subject').notNullable(); // RFC 4514, CN first
    t.string('email', 254).notNullable();
    t.string('subscriber_id', 64).notNullable();
    t.string('key_algorithm', 16).notNullable();
    t.timestamp('not_before', { useTz: true }).notNullable();
    t.timestamp('not_after', { useTz: true }).notNullable();
    t.text('certificate_pem').notNullable();
    t.binary('encrypted_private_key'); // AES-256-GCM ciphertext + tag; null once destroyed
    t.binary('private_key_nonce');
    t.timestamp('revoked_at', { useTz: true });
    t.string('revocation_reason', 32);
    t.index(['request_id']);
    t.index(['profile', 'user_id']);
    t.index(['profile', 'revoked_at']);
  });
  await db.schema.createTable('certificate_revocation_lists', (t) => {
    t.string('profile', 32).primary();
    t.bigInteger('crl_number').notNullable();
    t.timestamp('this_update', { useTz: true }).notNullable();
    t.timestamp('next_update', { useTz: true }).notNullable();
    t.binary('crl_der').notNullable();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('certificate_revocation_lists');
  await db.schema.dropTable('issued_certificates');
}
