// Mail outbox (one row per mail event, so a retried activity never sends twice) and sealed one-time secrets.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('mail_outbox', (t) => {
    t.string('key', 200).primary(); // workflow ID + event: unique per mail event
    t.string('kind', 32).notNullable();
    t.string('recipient', 254).notNullable();
    t.string('subject', 255).notNullable();
    t.string('status', 16).notNullable(); // pending | sent | failed
    t.string('message_id', 255).notNullable(); // derived from the key, fixed before the first attempt
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('claimed_until', { useTz: true }); // an attempt is in flight until then
    t.text('smtp_response');
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.timestamp('sent_at', { useTz: true });
    t.index(['status']);
  });
  await db.schema.createTable('sealed_secrets', (t) => {
    t.string('ref', 64).primary();
    t.binary('ciphertext'); // AES-256-GCM ciphertext + tag; null once consumed
    t.binary('nonce');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('consumed_at', { useTz: true });
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('sealed_secrets');
  await db.schema.dropTable('mail_outbox');
}
