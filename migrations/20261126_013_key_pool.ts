// The key pool: key pairs generated ahead of key retrieval, sealed under the data key, each claimed by one issuance.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('key_pool', (t) => {
    t.string('id', 36).primary(); // a UUID, made before the row so the seal can be bound to it
    t.string('key_algorithm', 16).notNullable();
    t.binary('encrypted_private_key').notNullable(); // AES-256-GCM ciphertext + tag of the PKCS#8 key
    t.binary('private_key_nonce').notNullable();
    t.bigInteger('created_at').notNullable(); // epoch ms
    t.string('claimed_by', 48).unique(); // the issuance key that took it: a retry finds it, nobody else can
    t.bigInteger('claimed_at');
    t.index(['key_algorithm', 'claimed_by']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('key_pool');
}
