// Indexes for the support console's searches and lists: serials, expiry and waiting lists, audit filters, prefix matches.
import type { Knex } from 'knex';

const isPostgres = (db: Knex) => db.client.config.client === 'pg';

// PostgreSQL uses a btree for LIKE 'prefix%' only with a pattern operator class (the database collation is not C).
const PATTERN_INDEXES = [
  ['users_email_lower_pattern', 'users', 'lower(email) text_pattern_ops'],
  ['audit_events_target_pattern', 'audit_events', 'target varchar_pattern_ops'],
  ['mail_outbox_key_pattern', 'mail_outbox', 'key varchar_pattern_ops'],
] as const;

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('requests', (t) => {
    t.index(['serial'], 'requests_serial');
    // Certificates expiring within N days (active/renewed by notAfter) and requests waiting since (status by created_at).
    t.index(['status', 'not_after'], 'requests_status_not_after');
    t.index(['status', 'created_at'], 'requests_status_created_at');
  });
  await db.schema.alterTable('audit_events', (t) => {
    t.index(['at'], 'audit_events_at');
    t.index(['agent', 'at'], 'audit_events_agent_at');
    t.index(['action', 'at'], 'audit_events_action_at');
  });
  if (isPostgres(db)) {
    for (const [name, table, expression] of PATTERN_INDEXES) await db.raw(`create index ${name} on ${table} (${expression})`);
  }
  // SQLite: no counterpart, its LIKE (case-insensitive, with ESCAPE) does not use an index; a SQLite install is small.
}

export async function down(db: Knex): Promise<void> {
  if (isPostgres(db)) {
    for (const [name] of PATTERN_INDEXES) await db.raw(`drop index if exists ${name}`);
  }
  await db.schema.alterTable('audit_events', (t) => {
    t.dropIndex(['at'], 'audit_events_at');
    t.dropIndex(['agent', 'at'], 'audit_events_agent_at');
    t.dropIndex(['action', 'at'], 'audit_events_action_at');
  });
  await db.schema.alterTable('requests', (t) => {
    t.dropIndex(['serial'], 'requests_serial');
    t.dropIndex(['status', 'not_after'], 'requests_status_not_after');
    t.dropIndex(['status', 'created_at'], 'requests_status_created_at');
  });
}
