// The web session when the database fails under it: the page says so (500), the connection a proxy keeps to the web
// process stays open for its next request, and a session that could not be read is not ended for it.
import crypto from 'node:crypto';
import http from 'node:http';
import express from 'express';
import type session from 'express-session';
import { errorHandler } from '../../api/errors';
import { mountPages, type WebDeps } from '../../api/web/page-kit';
import { createSessionStore, sessions, SESSION_TABLE, type SessionStore } from '../../api/web/session';
import { createDb } from '../../infra/db';
import { createLogger } from '../../infra/logger';
import { freePort } from '../../infra/ports';
import { forEachDatabase } from '../support/databases';
import { listenOnLoopback } from '../support/listen';

const SECRET = 'session-outage-secret';
const COOKIE = 'certflow_outage';
/** The cookie a browser holds for session `sid`: express-session's signed form, s:<sid>.<HMAC-SHA256, base64 unpadded>. */
const signedCookie = (sid: string) =>
  `${COOKIE}=${encodeURIComponent(`s:${sid}.${crypto.createHmac('sha256', SECRET).update(sid).digest('base64').replace(/=+$/, '')}`)}`;

/** A web side with sessions over `store`: POST /page answers with what its session holds. */
async function pagesOver(store: session.Store) {
  const app = express();
  app.use(sessions({ secret: SECRET, store, cookieName: COOKIE, secure: false, idleTimeoutMs: 60_000, logger: createLogger('silent') }));
  app.use(express.urlencoded({ extended: false }));
  app.post('/page', (req, res) => res.json({ userId: req.session.enrollment?.userId ?? null }));
  app.use(errorHandler(createLogger('silent')));
  const { server, baseUrl } = await listenOnLoopback(app);
  return { server, port: Number(new URL(baseUrl).port) };
}

/** A session store over a PostgreSQL that cannot be reached: a port nothing listens on, as when PostgreSQL is stopped. */
async function unreachableSessionStore() {
  const db = createDb({ client: 'pg', connection: `postgres://certflow@127.0.0.1:${await freePort()}/certflow` });
  const store = createSessionStore(db, { cleanupIntervalMs: 0 });
  return { store, close: async () => (store.close(), await db.destroy()) };
}

/** Two form POSTs carrying the session's cookie, one after the other on one keep-alive connection, as nginx sends them. */
function twoPostsOnOneConnection(port: number, sid: string): Promise<{ statuses: number[]; bodies: string[]; sockets: Set<unknown> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const cookie = signedCookie(sid);
  const post = () =>
    new Promise<{ status: number; body: string; socket: unknown }>((resolve, reject) => {
      const req = http.request(
        { port, host: '127.0.0.1', path: '/page', method: 'POST', agent, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' } },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          // A moment after the reply: what the server does to the connection then is what the proxy's next request meets.
          res.on('end', () => setTimeout(() => resolve({ status: res.statusCode!, body, socket: req.socket }), 50));
        },
      );
      req.on('error', reject);
      req.end('field=value');
    });
  return (async () => {
    try {
      const first = await post();
      const second = await post();
      return { statuses: [first.status, second.status], bodies: [first.body, second.body], sockets: new Set([first.socket, second.socket]) };
    } finally {
      agent.destroy();
    }
  })();
}

const sessionData = (userId: string) =>
  ({ cookie: { originalMaxAge: 60_000, maxAge: 60_000, expires: new Date(Date.now() + 60_000) }, enrollment: { profile: 'kdanshinnet', userId } }) as session.SessionData;

describe('the web session when its database is down', () => {
  it('when PostgreSQL cannot be reached, then each page answers 500 on the same connection, which is never closed under the next request', async () => {
    // Every read, write and end of a session fails as it does when PostgreSQL is stopped.
    const { store, close } = await unreachableSessionStore();
    const web = await pagesOver(store);
    try {
      const { statuses, sockets } = await twoPostsOnOneConnection(web.port, 'sid-outage');
      expect(statuses).toEqual([500, 500]);
      expect(sockets.size).toBe(1);
    } finally {
      web.server.close();
      await close();
    }
  });

  it('when PostgreSQL cannot be reached, then the login form still opens, even for a browser holding a session: it reads no session', async () => {
    const { store, close } = await unreachableSessionStore();
    const app = express();
    const router = express.Router();
    app.use(router);
    const pages = mountPages(router, '/enroll', { sessionSecret: SECRET, sessionStore: store, logger: createLogger('silent') } as unknown as WebDeps, {
      cookieName: COOKIE,
      secure: false,
      sessionlessGets: ['/login'],
    });
    pages.get('/login', (_req, res) => void res.send('the login form'));
    pages.get('/details', (req, res) => void res.send(`logged in as ${req.session.enrollment?.userId}`));
    app.use(errorHandler(createLogger('silent')));
    const { server, baseUrl } = await listenOnLoopback(app);
    const base = `${baseUrl}/enroll/kdanshinnet`;
    try {
      const cookie = signedCookie('sid-outage');
      const login = await fetch(`${base}/login`, { headers: { cookie } });
      expect([login.status, await login.text()]).toEqual([200, 'the login form']);
      expect(login.headers.get('set-cookie')).toBeNull();
      // A page that needs the session still says the database failed.
      expect((await fetch(`${base}/details`, { headers: { cookie } })).status).toBe(500);
    } finally {
      server.close();
      await close();
    }
  });
});

forEachDatabase('the web session when a read of it fails', (database) => {
  let store: SessionStore;
  afterEach(async () => {
    store?.close();
    await database.db(SESSION_TABLE).delete();
  });

  it('when the read of a session fails once, then the page answers 500 but the session is not ended: the next page finds the user still logged in', async () => {
    store = createSessionStore(database.db, { cleanupIntervalMs: 0 });
    await new Promise<void>((resolve, reject) => store.set('sid-flaky', sessionData('emp201'), (err) => (err ? reject(err) : resolve())));
    // The database fails this one read (a dropped connection); writes and every later read reach it.
    let failures = 1;
    const flaky = Object.create(store) as SessionStore;
    flaky.get = (sid, callback) => {
      if (failures-- > 0) return void callback(new Error('Connection terminated unexpectedly'));
      return store.get(sid, callback);
    };
    const web = await pagesOver(flaky);
    try {
      const { statuses, bodies, sockets } = await twoPostsOnOneConnection(web.port, 'sid-flaky');
      expect(statuses).toEqual([500, 200]);
      expect(JSON.parse(bodies[1]!)).toEqual({ userId: 'emp201' });
      expect(sockets.size).toBe(1);
    } finally {
      web.server.close();
    }
  });
});
