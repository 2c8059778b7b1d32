// The login rate limit's counts on every supported database: two web processes (two stores, two pools) share one count.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { rateLimit, type Options } from 'express-rate-limit';
import { DatabaseRateLimitStore, RATE_LIMIT_TABLE } from '../../api/web/rate-limit-store';
import { createDb, type Db } from '../../infra/db';
import { forEachDatabase } from '../support/databases';

forEachDatabase(
  'the login rate limit store',
  (database) => {
    const pools: Db[] = [];
    /** A store as a web process builds it, over its own pool of the same database. */
    const processStore = (windowMs = 60_000, prefix = 'login:') => {
      const db = createDb(database.settings);
      pools.push(db);
      const store = new DatabaseRateLimitStore(db, prefix);
      store.init({ windowMs } as Options);
      return store;
    };
    afterEach(async () => {
      for (const db of pools.splice(0)) await db.destroy();
    });

    test('when one client is counted by two web processes, then both add to one count, and other clients and limiters count apart', async () => {
      const first = processStore();
      const second = processStore();
      expect((await first.increment('198.51.100.7')).totalHits).toBe(1);
      expect((await second.increment('198.51.100.7')).totalHits).toBe(2);
      const third = await first.increment('198.51.100.7');
      expect(third.totalHits).toBe(3);
      expect(third.resetTime!.getTime()).toBeGreaterThan(Date.now());
      expect(await second.get('198.51.100.7')).toEqual(third);
      expect((await second.increment('198.51.100.8')).totalHits).toBe(1);
      expect((await processStore(60_000, 'other:').increment('198.51.100.7')).totalHits).toBe(1);
    });

    test('when two processes count the same client at the same moment, then every hit is counted once (the upsert is atomic)', async () => {
      const first = processStore();
      const second = processStore();
      const hits = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? first : second).increment('203.0.113.9')));
      expect(hits.map((h) => h.totalHits).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(new Set(hits.map((h) => h.resetTime!.getTime())).size).toBe(1);
    });

    test('when a hit is taken back or the client reset in one process, then the other sees it', async () => {
      const first = processStore();
      const second = processStore();
      for (let i = 0; i < 3; i++) await first.increment('192.0.2.1');
      await second.decrement('192.0.2.1');
      expect((await first.get('192.0.2.1'))!.totalHits).toBe(2);
      await first.resetKey('192.0.2.1');
      expect(await second.get('192.0.2.1')).toBeUndefined();
      expect((await second.increment('192.0.2.1')).totalHits).toBe(1);
    });

    test('when the window lapses, then the next hit starts a new one at 1, and lapsed rows are deleted', async () => {
      const first = processStore(300);
      const second = processStore(300);
      await first.increment('192.0.2.50');
      await first.increment('192.0.2.50');
      await second.increment('192.0.2.99'); // a client that never comes back
      await new Promise((r) => setTimeout(r, 400));
      expect(await second.get('192.0.2.50')).toBeUndefined();
      const fresh = await second.increment('192.0.2.50');
      expect(fresh.totalHits).toBe(1);
      expect(fresh.resetTime!.getTime()).toBeGreaterThan(Date.now() + 100);
      const keys = await database.db(RATE_LIMIT_TABLE).pluck('key');
      expect(keys).toContain('login:192.0.2.50');
      expect(keys).not.toContain('login:192.0.2.99');
    });

    test('when express-rate-limit runs in two web processes over the store, then the limit holds for the client across both', async () => {
      const servers = [processStore(), processStore()].map((store) => {
        const app = express();
        app.use(rateLimit({ windowMs: 60_000, limit: 3, store, handler: (_req, res) => res.status(429).send('slow down') }));
        app.get('/', (_req, res) => res.send('ok'));
        return app.listen(0, '127.0.0.1');
      });
      try {
        await Promise.all(servers.map((s) => new Promise((resolve) => (s.listening ? resolve(undefined) : s.once('listening', resolve)))));
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) {
          const server = servers[i % 2]!;
          statuses.push((await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)).status);
        }
        expect(statuses).toEqual([200, 200, 200, 429, 429]);
      } finally {
        for (const s of servers) s.close();
      }
    });
  },
  { per: 'test' },
);
