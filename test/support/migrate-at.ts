// A separate process migrating a database at a given moment (argv: settings as JSON, epoch milliseconds), so that
// several processes start their migrations together as web and worker processes starting at once do. Prints "ok" or
// the error's name and message.
import { createDb, migrateToLatest } from '../../infra/db';

const db = createDb(JSON.parse(process.argv[2]!));
const at = Number(process.argv[3]);
setTimeout(async () => {
  try {
    await migrateToLatest(db, { waitMs: 20_000 });
    console.log('ok');
  } catch (error) {
    const e = error as Error;
    console.log(`${e.name}: ${e.message}`);
  } finally {
    await db.destroy();
  }
}, Math.max(0, at - Date.now()));
