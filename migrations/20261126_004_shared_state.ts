// State every certflow process shares: web sessions, login attempt counts and each profile's CA (key still encrypted).
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // The shape connect-session-knex reads and writes (sid, sess, expired); it never creates the table itself.
  await db.schema.createTable('web_sessions', (t) => {
    t.string('sid', 255).primary();
    t.json('sess').notNullable();
    t.timestamp('expired', { useTz: true }).notNullable().index();
  });
  await db.schema.createTable('rate_limit_hits', (t) => {
    t.string('key', 255).primary(); // limiter prefix + client address
    t.integer('hits').notNullable();
    t.bigInteger('reset_at').notNullable().index(); // epoch milliseconds: the same arithmetic on both databases
  });
  await db.schema.createTable('certificate_authorities', (t) => {
    t.string('profile', 32).primary(); // one CA per profile: the unique key concurrent start-ups race on
    t.text('certificate_pem').notNullable();
    t.text('encrypted_key_pem').notNullable(); // PKCS#8 encrypted with CERTFLOW_CA_PASSPHRASE
    t.timestamp('created_at', { useTz: true }).notNullable();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('certificate_authorities');
  await db.schema.dropTable('rate_limit_hits');
  await db.schema.dropTable('web_sessions');
}
