// When Temporal cannot be reached, a call that needs it is refused at once with 503 and Retry-After, and keeps nothing.
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { createLogger } from '../../infra/logger';
import { createHttpSide, createRuntime, type Runtime } from '../../worker/composition';
import { listenOnLoopback } from '../support/listen';
import { ADMIN_TOKEN, freePort, testConfig } from '../support/config';
import { registration } from './stack';

describe('Temporal unreachable', () => {
  let runtime: Runtime;
  let connection: Connection;
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    runtime = await createRuntime(testConfig());
    // Nothing listens on this port: the Temporal server is down. Without the SDK's retry interceptor no retry outlives
    // the test; the probe bounds the wait whatever the client does.
    connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}`, interceptors: [] });
    const { app } = await createHttpSide(runtime, { client: new Client({ connection }), connection, logger: createLogger('silent') });
    ({ server, baseUrl } = await listenOnLoopback(app));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await connection.close();
    await runtime.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('when an admin registers a user, then the answer is a prompt 503 with Retry-After and a reason, and no user is kept', async () => {
    // Twice: the first call asks Temporal, the second is answered from the shared probe.
    for (const userId of ['down01', 'down02']) {
      const started = Date.now();
      const res = await post('/api/v1/users', registration(userId));
      const elapsed = Date.now() - started;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.json()).toEqual({ error: 'workflow_unavailable', message: expect.stringContaining('cannot be reached') });
      // The client's own retries would take some 20 s; the probe answers within its 1-s bound.
      expect(elapsed).toBeLessThan(5_000);
      expect(await runtime.stores.users.findAll(userId)).toEqual([]);
    }
  });

  it('when readiness is asked, then it names Temporal as down', async () => {
    const res = await fetch(`${baseUrl}/readyz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { status: string }).status).toContain('temporal');
  });
});
