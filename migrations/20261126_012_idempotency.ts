// The support API's Idempotency-Key: the first answer to a state-changing call, kept (sealed) so a retry gets it again.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('idempotency_keys', (t) => {
    t.string('agent', 128).notNullable(); // whose key: one caller never sees another's answers
    t.string('key', 255).notNullable();
    t.string('request_hash', 64).notNullable(); // SHA-256 of operation, path and body: the same key with another request is refused
    t.string('state', 16).notNullable(); // pending | done
    t.integer('status');
    t.text('sealed_answer'); // the answer's body, AES-GCM under the data key (it may hold an enrollment password)
    t.string('nonce', 32);
    t.bigInteger('expires_at').notNullable();
    t.primary(['agent', 'key']);
    t.index(['expires_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('idempotency_keys');
}
