// The ops server alone (a worker-only process's): liveness, readiness bounded against dependencies that hang or
// refuse, and metrics; and the SMTP check against a real listener.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startOpsServer, type OpsServer } from '../../api/ops';
import { verifySmtp } from '../../engines/mail';
import knex from 'knex';
import { ping, type Db } from '../../infra/db';
import { createLogger } from '../../infra/logger';
import { createMetrics } from '../../infra/metrics';
import { freePort } from '../../infra/ports';
import { startTestMailbox, type TestMailbox } from '../mail/support';

/** A TCP server that accepts connections and never says a word: a hung database or relay. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('the ops server', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let mailbox: TestMailbox;
  let hungDb: Db;
  let ops: OpsServer;
  const logger = createLogger('silent');
  const metrics = createMetrics({ pendingMails: async () => 4, crls: async () => [] });

  beforeAll(async () => {
    silent = await silentServer();
    mailbox = await startTestMailbox();
    // knex warns of the connection attempts the pool drops at close: expected here, so not printed.
    hungDb = knex({ client: 'pg', connection: `postgres://certflow:x@127.0.0.1:${silent.port}/certflow`, log: { warn: () => undefined } });
    ops = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      logger,
      registry: metrics.registry,
      timeoutMs: 500,
      checks: {
        database: () => ping(hungDb),
        smtp: (timeoutMs) => verifySmtp({ host: '127.0.0.1', port: silent.port, secure: false }, timeoutMs),
        mailbox: (timeoutMs) => verifySmtp({ host: '127.0.0.1', port: mailbox.port, secure: false }, timeoutMs),
      },
    });
  });

  afterAll(async () => {
    await ops?.close();
    // The hung connection attempts end when the silent server hangs up; only then can the pool close.
    await silent?.close();
    await hungDb?.destroy().catch(() => undefined);
    await mailbox?.close();
  });

  it('when a database and an SMTP relay accept connections but never answer, then /readyz is 503 naming both within the bound, and /healthz is 200', async () => {
    const asked = Date.now();
    const res = await fetch(`${ops.url}/readyz`);
    expect(Date.now() - asked).toBeLessThan(2000);
    expect(res.status).toBe(503);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    expect(body).toEqual({
      status: 'down: database, smtp',
      checks: {
        database: { status: 'down', reason: expect.any(String) },
        smtp: { status: 'down', reason: expect.any(String) },
        mailbox: { status: 'up' },
      },
    });
    expect(await (await fetch(`${ops.url}/healthz`)).json()).toEqual({ status: 'up' });
  });

  it("when /metrics is scraped, then it answers in Prometheus's text format with Node's process metrics and certflow's", async () => {
    const res = await fetch(`${ops.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toMatch(/^certflow_mail_outbox_pending 4$/m);
    expect(text).toContain('# TYPE certflow_http_request_duration_seconds histogram');
  });

  it('when a path is not an ops route, then the answer is a JSON 404', async () => {
    const res = await fetch(`${ops.url}/api/v1/users`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_found' });
  });

  it('when the ops port is taken, then start-up fails naming it', async () => {
    const port = Number(new URL(ops.url).port);
    await expect(startOpsServer({ host: '127.0.0.1', port, logger, registry: metrics.registry, checks: {} })).rejects.toThrow(`the ops port 127.0.0.1:${port} is already taken`);
  });

  it('when the relay answers, verifySmtp resolves; when its port refuses, it rejects with the connection error', async () => {
    await expect(verifySmtp({ host: '127.0.0.1', port: mailbox.port, secure: false }, 2000)).resolves.toBeUndefined();
    const closed = await freePort();
    await expect(verifySmtp({ host: '127.0.0.1', port: closed, secure: false }, 2000)).rejects.toMatchObject({ code: 'ESOCKET' });
  });
});
