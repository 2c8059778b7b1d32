// The web session store on every supported database: what one web process writes another reads, and expired sessions
// are deleted, so anonymous visitors cannot make the table grow forever.
import type session from 'express-session';
import { createSessionStore, SESSION_TABLE, type SessionStore } from '../../api/web/session';
import { createDb, type Db } from '../../infra/db';
import { createTestDatabase, forEachDatabase } from '../support/databases';

const put = (store: session.Store, sid: string, maxAgeMs: number, data: Partial<session.SessionData> = {}) =>
  new Promise<void>((resolve, reject) =>
    store.set(sid, { cookie: { originalMaxAge: maxAgeMs, maxAge: maxAgeMs, expires: new Date(Date.now() + maxAgeMs) }, ...data } as session.SessionData, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
const read = (store: session.Store, sid: string) =>
  new Promise<session.SessionData | null | undefined>((resolve, reject) => store.get(sid, (err, s) => (err ? reject(err) : resolve(s))));
const end = (store: session.Store, sid: string) => new Promise<void>((resolve, reject) => store.destroy(sid, (err) => (err ? reject(err) : resolve())));
const rows = async (db: Db) => Number((await db(SESSION_TABLE).count({ n: '*' }))[0]!.n);

forEachDatabase('the web session store', (database) => {
  const stores: SessionStore[] = [];
  const pools: Db[] = [];
  const storeOver = (db: Db, cleanupIntervalMs = 60_000) => {
    const store = createSessionStore(db, { cleanupIntervalMs });
    stores.push(store);
    return store;
  };
  /** What a second web process has: its own pool over the same database. */
  const anotherProcess = () => {
    const db = createDb(database.settings);
    pools.push(db);
    return db;
  };
  afterEach(async () => {
    for (const store of stores.splice(0)) store.close();
    for (const db of pools.splice(0)) await db.destroy();
    await database.db(SESSION_TABLE).delete();
  });

  test('when one web process writes a session, then another reads it, sees its changes, and ending it in one ends it in both', async () => {
    const first = storeOver(database.db);
    const second = storeOver(anotherProcess());
    await put(first, 'sid-login', 60_000, { enrollment: { profile: 'kdanshinnet', userId: 'emp101' }, lastSeenAt: 1 });
    expect(await read(second, 'sid-login')).toMatchObject({ enrollment: { profile: 'kdanshinnet', userId: 'emp101' }, lastSeenAt: 1 });

    await put(second, 'sid-login', 60_000, { enrollment: { profile: 'kdanshinnet', userId: 'emp101' }, lastSeenAt: 2, formTokens: ['t1'] });
    expect(await read(first, 'sid-login')).toMatchObject({ lastSeenAt: 2, formTokens: ['t1'] });
    expect(await rows(database.db)).toBe(1);

    await end(second, 'sid-login');
    expect(await read(first, 'sid-login')).toBeFalsy();
    expect(await rows(database.db)).toBe(0);
  });

  test('when sessions pass their expiry, then no process reads them and the cleanup deletes their rows, keeping the live ones', async () => {
    const cleaning = storeOver(database.db, 200);
    const other = storeOver(anotherProcess(), 0);
    for (let i = 0; i < 5; i++) await put(other, `anonymous-${i}`, 1000);
    await put(other, 'still-here', 60_000);
    expect(await rows(database.db)).toBe(6);
    // SQLite compares the expiry to the second: allow a little over a second past it.
    const until = Date.now() + 10_000;
    while ((await rows(database.db)) > 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(await database.db(SESSION_TABLE).pluck('sid')).toEqual(['still-here']);
    expect(await read(other, 'anonymous-0')).toBeFalsy();
    expect(await read(cleaning, 'still-here')).toBeTruthy();
  });

  test('when the store is closed, then its cleanup stops', async () => {
    const store = storeOver(database.db, 50);
    await new Promise((r) => setTimeout(r, 120));
    store.close();
    const deletes: string[] = [];
    const record = (q: { sql: string }) => /^delete from .web_sessions/i.test(q.sql) && deletes.push(q.sql);
    database.db.on('query', record);
    await new Promise((r) => setTimeout(r, 300));
    database.db.off('query', record);
    expect(deletes).toEqual([]);
  });
});

test('when the migration has not made the session table, then every call answers its callback with the error (the process stays up) and no table is made', async () => {
  const database = await createTestDatabase('sqlite', { migrate: false });
  const store = createSessionStore(database.db, { cleanupIntervalMs: 0 });
  try {
    await expect(read(store, 'any')).rejects.toThrow(/Missing web_sessions table/);
    await expect(put(store, 'any', 1000)).rejects.toThrow(/Missing web_sessions table/);
    await expect(end(store, 'any')).rejects.toThrow(/Missing web_sessions table/);
    // express-session ends the reply only once touch calls back.
    const touched = await new Promise<unknown>((resolve) => store.touch('any', { cookie: { expires: new Date(Date.now() + 1000) } } as session.SessionData, resolve));
    expect(String(touched)).toMatch(/Missing web_sessions table/);
    expect(await database.db.schema.hasTable(SESSION_TABLE)).toBe(false);
  } finally {
    store.close();
    await database.destroy();
  }
});
