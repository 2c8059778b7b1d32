// Indexes for the support lists over 100,000 live certificates (bench:scale): each list walks an index in its own
// order and stops at its page, and each search field finds its rows through an index instead of a scan.
import type { Knex } from 'knex';

const isPostgres = (db: Knex) => db.client.config.client === 'pg';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('requests', (t) => {
    // Expiring soonest first: with (status, not_after) both statuses' ranges were merged and sorted whole before the page.
    t.dropIndex(['status', 'not_after'], 'requests_status_not_after');
    t.index(['not_after', 'request_id'], 'requests_not_after');
    // The admin list and the search results, newest first.
    t.index(['created_at', 'request_id'], 'requests_created_at');
  });
  await db.schema.alterTable('users', (t) => {
    // The organisation search reads the distinct organisations from this index, then their users.
    t.index(['organization'], 'users_organization');
  });
  // SQLite: its LIKE (ASCII case-insensitive) uses an index by prefix only on a NOCASE column; PostgreSQL has lower(email) text_pattern_ops (006).
  if (!isPostgres(db)) await db.raw('create index users_email_nocase on users (email collate nocase)');
}

export async function down(db: Knex): Promise<void> {
  if (!isPostgres(db)) await db.raw('drop index if exists users_email_nocase');
  await db.schema.alterTable('users', (t) => {
    t.dropIndex(['organization'], 'users_organization');
  });
  await db.schema.alterTable('requests', (t) => {
    t.dropIndex(['created_at', 'request_id'], 'requests_created_at');
    t.dropIndex(['not_after', 'request_id'], 'requests_not_after');
    t.index(['status', 'not_after'], 'requests_status_not_after');
  });
}
