// The session store of the user's pages stays bounded: idle sessions are pruned, and a flood cannot grow it forever.
import type session from 'express-session';
import { createSessionStore } from '../../api/web/session';

type CountingStore = ReturnType<typeof createSessionStore>;

const put = (store: session.Store, id: string, maxAgeMs: number) =>
  new Promise<void>((resolve, reject) =>
    store.set(id, { cookie: { originalMaxAge: maxAgeMs, expires: new Date(Date.now() + maxAgeMs) } } as session.SessionData, (err) => (err ? reject(err) : resolve())),
  );
const count = (store: CountingStore) => new Promise<number>((resolve, reject) => store.length((err, n) => (err ? reject(err) : resolve(n ?? 0))));

describe('the session store of the web pages', () => {
  it('when sessions sit idle past the timeout, then they are pruned without anyone asking for them', async () => {
    const store = createSessionStore(200);
    for (let i = 0; i < 5; i++) await put(store, `anonymous-${i}`, 200);
    expect(await count(store)).toBe(5);
    await new Promise((r) => setTimeout(r, 700));
    expect(await count(store)).toBe(0);
  });

  it('when more sessions arrive than it may hold, then the least recently used give way', async () => {
    const store = createSessionStore(60_000, 5);
    for (let i = 0; i < 12; i++) await put(store, `visitor-${i}`, 60_000);
    expect(await count(store)).toBe(5);
    const newest = await new Promise<unknown>((resolve) => store.get('visitor-11', (_err, s) => resolve(s)));
    const oldest = await new Promise<unknown>((resolve) => store.get('visitor-0', (_err, s) => resolve(s)));
    expect(newest).toBeDefined();
    expect(oldest).toBeFalsy();
  });
});
