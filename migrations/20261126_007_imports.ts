// Imports (bulk registration, migration import): one row per file, one per line with its status, so an import's
// progress survives a restart and its lines never enter a workflow's history.
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('imports', (t) => {
    t.string('import_id', 100).primary(); // <kind>-<SHA-256 of the file>: the same file is the same import
    t.string('kind', 32).notNullable();
    t.string('encoding', 16).notNullable();
    t.string('status', 16).notNullable(); // running | finished
    t.string('created_by', 128).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true });
  });
  await db.schema.createTable('import_lines', (t) => {
    t.string('import_id', 100).notNullable().references('import_id').inTable('imports').onDelete('CASCADE');
    t.integer('line_no').notNullable(); // the file's line the record starts on
    t.string('status', 16).notNullable(); // refused | pending | registering | done | failed
    t.string('label', 255); // who the line is about (user ID and profile), for the failures list
    t.text('payload'); // the validated line as JSON until it is registered; null once finished
    t.text('errors'); // JSON [{field, message}] of a line refused at validation
    t.text('reason'); // why a line failed at registration
    t.string('result', 128); // what registration made (a request ID)
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.primary(['import_id', 'line_no']);
    t.index(['import_id', 'status']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('import_lines');
  await db.schema.dropTable('imports');
}
