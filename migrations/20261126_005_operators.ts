// certflow's own operators (support agents and admins of the console): their role lives here, never in a certificate.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('operators', (t) => {
    t.string('agent_id', 64).primary(); // also the user ID of the operator's certificate (profile operators)
    t.string('role', 16).notNullable(); // support | admin
    t.string('email', 254).notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.string('created_by', 128).notNullable();
    t.timestamp('disabled_at', { useTz: true });
    t.string('disabled_by', 128);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('operators');
}
