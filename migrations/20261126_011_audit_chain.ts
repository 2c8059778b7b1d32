// The tamper-evident audit trail: each row's hash chains it to the previous row, and one head row records the last
// link (and is what appends lock). Rows already there are chained now, with the installation's key.
import type { Knex } from 'knex';

/** MigrationContext's part this migration reads (migrations/index.ts; restated, as index.ts imports this file). */
interface Context {
  chainAuditRows?: (db: Knex) => Promise<unknown>;
}

export async function up(db: Knex, context: Context = {}): Promise<void> {
  await db.schema.alterTable('audit_events', (t) => {
    // Nullable: a row is inserted, then hashed with its ID, in one transaction.
    t.string('prev_hash', 64);
    t.string('hash', 64);
  });
  await db.schema.createTable('audit_chain_head', (t) => {
    t.integer('id').primary(); // always 1
    t.bigInteger('last_id').notNullable();
    t.string('last_hash', 64).notNullable();
    t.string('mac', 64); // HMAC of the head, absent while the trail is empty
  });
  await db('audit_chain_head').insert({ id: 1, last_id: 0, last_hash: '0'.repeat(64), mac: null });
  const [{ count }] = await db('audit_events').count({ count: '*' });
  if (Number(count) === 0) return;
  // The key is not in the database, so only the installation can chain what is there.
  if (!context.chainAuditRows) {
    throw new Error(`migration 011 chains the ${count} existing audit rows with the audit key: run it through certflow (npm start, npm run serve), which holds the key`);
  }
  await context.chainAuditRows(db);
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('audit_chain_head');
  await db.schema.alterTable('audit_events', (t) => {
    t.dropColumn('prev_hash');
    t.dropColumn('hash');
  });
}
