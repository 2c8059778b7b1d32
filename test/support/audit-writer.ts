// A separate process that appends audit events, for the chain's concurrency test: argv is the database settings
// (JSON), the audit key (hex), how many events and the agent name. It says `ready` and starts on a line on stdin, so
// two writers start together.
import { createDb, type DbSettings } from '../../infra/db';
import { createAuditStore } from '../../stores/audit';

async function main(): Promise<void> {
  const [settings, keyHex, count, agent] = process.argv.slice(2);
  const db = createDb(JSON.parse(settings!) as DbSettings);
  try {
    const audit = createAuditStore(db, Buffer.from(keyHex!, 'hex'));
    await db.raw('select 1');
    process.stdout.write('ready\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.pause();
    for (let n = 0; n < Number(count); n++) {
      await audit.record({ agent: agent!, role: 'support', action: 'unlock', target: `user:${agent}-${n}`, outcome: 'ok' }, new Date());
      // A breath between appends, as between a console's requests: on SQLite a writer that never pauses can finish all
      // its appends before the other's busy wait (which sleeps up to 100 ms) looks again, and nothing interleaves.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await db.destroy();
  }
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
