// Lifecycle projection: users, issuance requests, request ID sequence and the audit trail.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('users', (t) => {
    t.string('user_id', 64).notNullable();
    t.string('profile', 32).notNullable();
    t.string('email', 254).notNullable();
    t.string('id_admin_email', 254).notNullable();
    t.string('organization', 64).notNullable();
    t.text('organizational_units').notNullable(); // JSON array, most specific first
    t.string('subscriber_id', 64).notNullable();
    t.string('current_request_id', 32);
    t.integer('failed_logins').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.primary(['user_id', 'profile']);
  });
  await db.schema.createTable('request_sequences', (t) => {
    t.string('day', 8).primary(); // yyyymmdd, Asia/Tokyo
    t.integer('last_value').notNullable();
  });
  await db.schema.createTable('requests', (t) => {
    t.string('request_id', 32).primary();
    t.string('user_id', 64).notNullable();
    t.string('profile', 32).notNullable();
    t.string('kind', 16).notNullable(); // new | renewal | reissue
    t.string('workflow_id', 128).notNullable().unique();
    t.string('status', 32).notNullable();
    t.string('enrollment_password_hash', 255);
    t.string('predecessor_request_id', 32);
    t.string('successor_request_id', 32);
    t.string('serial', 64);
    t.string('revocation_reason', 32);
    t.timestamp('guide_expires_at', { useTz: true });
    t.timestamp('download_deadline', { useTz: true });
    t.timestamp('not_before', { useTz: true });
    t.timestamp('not_after', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['user_id', 'profile']);
    t.index(['status']);
  });
  await db.schema.createTable('audit_events', (t) => {
    t.increments('id');
    t.timestamp('at', { useTz: true }).notNullable();
    t.string('agent', 128).notNullable();
    t.string('role', 16).notNullable();
    t.string('action', 64).notNullable();
    t.string('target', 128).notNullable();
    t.string('outcome', 16).notNullable(); // ok | rejected | failed
    t.text('detail');
    t.index(['target']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('audit_events');
  await db.schema.dropTable('requests');
  await db.schema.dropTable('request_sequences');
  await db.schema.dropTable('users');
}
