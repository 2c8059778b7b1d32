// Login throttling per user ID as typed (known or not): failures and the earliest next attempt, shared by every web
// process; it replaces the lockout columns on users (a lockout let anyone who knew a user ID shut its owner out).
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('login_failures', (t) => {
    t.string('user_id', 64).primary(); // as typed on the login form, whether or not such a user exists
    t.integer('failures').notNullable();
    t.bigInteger('last_failure_at').notNullable(); // epoch milliseconds: the same arithmetic on both databases
    t.bigInteger('wait_until').notNullable(); // no attempt is checked before this instant
  });
  await db.schema.alterTable('users', (t) => {
    t.dropColumn('failed_logins');
    t.dropColumn('locked_until');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('users', (t) => {
    t.integer('failed_logins').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
  });
  await db.schema.dropTable('login_failures');
}
