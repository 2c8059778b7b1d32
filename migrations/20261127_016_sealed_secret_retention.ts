// The sealed secrets not yet opened, oldest first: seal() wipes those past their retention (an enrollment password
// whose registration died before its workflow started, or whose guide mail expired unsent) without a scan.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('sealed_secrets', (t) => {
    t.index(['consumed_at', 'created_at'], 'sealed_secrets_unconsumed');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('sealed_secrets', (t) => {
    t.dropIndex(['consumed_at', 'created_at'], 'sealed_secrets_unconsumed');
  });
}
