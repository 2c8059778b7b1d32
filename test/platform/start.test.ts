// `npm start` as a user runs it: the whole tree comes up, Ctrl-C stops all of it, and a restart finds its data again.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createDb } from '../../infra/db';
import { loadConfig } from '../../worker/config';
import { retrieveKeyUpdate, statusQuery } from '../../workflows/definitions';
import { ADMIN_TOKEN, freePort, testEnv } from '../support/config';
import { reusedAfterIdle } from '../support/keep-alive';
import { registration } from '../api/stack';
import { registerTestUser, reserveRequest, THREE_YEAR_POLICY } from '../support/lifecycle-harness';
import { groupAlive, pidsRunning, pressCtrlC, startCertflow, waitFor, waitForOutput } from '../support/certflow-process';

/** An HTTPS request to certflow's own (self-signed) listener. */
function httpsRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: options.method ?? 'GET', headers: options.headers, rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('npm start', () => {
  let env: Record<string, string>;
  const cleanup: Array<() => void> = [];

  beforeAll(async () => {
    const [temporalPort, uiPort, httpPort, tlsPort, smtpPort, mailboxPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
    env = testEnv({
      CERTFLOW_TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      CERTFLOW_TEMPORAL_UI_PORT: String(uiPort),
      CERTFLOW_HTTP_PORT: String(httpPort),
      CERTFLOW_TLS_PORT: String(tlsPort),
      CERTFLOW_SMTP_PORT: String(smtpPort),
      CERTFLOW_MAILBOX_WEB_PORT: String(mailboxPort),
      CERTFLOW_LOG_LEVEL: 'warn',
    });
  });

  afterAll(() => cleanup.forEach((fn) => fn()));

  it('when started, stopped with Ctrl-C and started again, then everything is up, nothing is left behind, and a workflow started before still runs', async () => {
    const config = loadConfig(env);
    const first = startCertflow(env);
    cleanup.push(() => groupAlive(first.child.pid!) && process.kill(-first.child.pid!, 'SIGKILL'));
    await waitForOutput(first, 'certflow is up');
    expect(first.output()).toContain(`Temporal Web UI  http://127.0.0.1:${config.temporal.uiPort}`);
    expect((await fetch(`${config.publicUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${config.temporal.uiPort}/`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${config.mailbox.webPort}/healthz`)).status).toBe(200);
    expect((await fetch(`${config.publicUrl}/enroll/kdanshinnet/login`)).status).toBe(200);
    expect((await fetch(`${config.publicUrl}/crl/nissay.crl`)).headers.get('content-type')).toMatch(/pkix-crl/);
    expect((await fetch(`${config.publicUrl}/api/v1/certificates`)).status).toBe(401);
    // Both listeners keep an idle connection longer than Node's default 5 s (KEEP_ALIVE_MS): a client or proxy that
    // reuses one after a pause never sends its request on a socket certflow is closing.
    const [web, tls] = await Promise.all([reusedAfterIdle(`${config.publicUrl}/healthz`, 6_000), reusedAfterIdle(`${config.tlsPublicUrl}/no-such-page`, 6_000)]);
    expect(web).toEqual({ statuses: [200, 200], sameSocket: true });
    expect(tls).toEqual({ statuses: [404, 404], sameSocket: true });
    // Keys, secrets and databases: the data folder and everything in it (the Temporal dev server's too) are the owner's.
    const exposed = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const full = path.join(dir, e.name);
      const open = (fs.statSync(full).mode & 0o077) !== 0 ? [full] : [];
      return e.isDirectory() ? [...open, ...exposed(full)] : open;
    });
    expect(fs.statSync(config.dataDir).mode & 0o777).toBe(0o700);
    expect(fs.existsSync(config.temporal.devServerDbFile)).toBe(true);
    expect(exposed(config.dataDir)).toEqual([]);

    // A certificate request, registered the way the API does it, then its workflow started on certflow's task queue.
    const db = createDb(config.db);
    await registerTestUser(db, 'restart01');
    const { requestId, workflowId } = await reserveRequest(db, 'restart01', 'new');
    await db.destroy();
    let connection = await Connection.connect({ address: config.temporal.address });
    await new Client({ connection }).workflow.start('certificateWorkflow', {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [{ requestId, profile: 'kdanshinnet', userId: 'restart01', kind: 'new', policy: THREE_YEAR_POLICY }],
    });
    await connection.close();

    expect(await pressCtrlC(first)).toBe(0);
    expect(groupAlive(first.child.pid!)).toBe(false);
    // An orderly stop logs no error (the SDK's own signal handler used to race ours: IllegalStateError twice).
    expect(first.output()).not.toMatch(/"level":(50|60)/);
    expect((await fetch(`${config.publicUrl}/healthz`).catch(() => undefined))?.status).toBeUndefined();

    const second = startCertflow(env);
    cleanup.push(() => groupAlive(second.child.pid!) && process.kill(-second.child.pid!, 'SIGKILL'));
    await waitForOutput(second, 'certflow is up');
    connection = await Connection.connect({ address: config.temporal.address });
    const handle = new Client({ connection }).workflow.getHandle(workflowId);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect((await handle.query(statusQuery)).state).toBe('awaitingKeyRetrieval');
    const retrieval = await handle.executeUpdate(retrieveKeyUpdate);
    expect(retrieval.serial).toMatch(/^[0-9a-f]+$/);
    await connection.close();
    expect(await pressCtrlC(second)).toBe(0);
    expect(groupAlive(second.child.pid!)).toBe(false);
  });

  it('when the Temporal dev server dies, then it is restarted; when npm start itself is killed -9, then its servers stop with it and the next start comes up unaided', async () => {
    const config = loadConfig(env);
    const first = startCertflow(env);
    cleanup.push(() => groupAlive(first.child.pid!) && process.kill(-first.child.pid!, 'SIGKILL'));
    await waitForOutput(first, 'certflow is up');

    const temporalPid = pidsRunning(['start-dev', '--port', config.temporal.address.split(':')[1]!])[0]!;
    expect(temporalPid).toBeDefined();
    process.kill(temporalPid, 'SIGKILL');
    await waitForOutput(first, 'restarting it');
    await waitFor(async () => (await fetch(`${config.publicUrl}/readyz`)).status === 200, 60_000);
    const registered = await fetch(`${config.publicUrl}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(registration('revived01')),
    });
    expect(registered.status).toBe(201);

    // kill -9 of the start process alone: no stop of ours runs, the kernel tells its children.
    process.kill(first.child.pid!, 'SIGKILL');
    await first.exited;
    await waitFor(async () => pidsRunning(['start-dev', '--port', config.temporal.address.split(':')[1]!]).length === 0, 30_000);
    await waitFor(async () => pidsRunning(['--smtp', env.CERTFLOW_SMTP_PORT!, '--web']).length === 0, 30_000);

    const second = startCertflow(env);
    cleanup.push(() => groupAlive(second.child.pid!) && process.kill(-second.child.pid!, 'SIGKILL'));
    await waitForOutput(second, 'certflow is up');
    expect((await fetch(`${config.publicUrl}/readyz`)).status).toBe(200);
    expect(await pressCtrlC(second)).toBe(0);
    expect(groupAlive(second.child.pid!)).toBe(false);
  }, 300_000);

  it('when the web listener is asked to speak HTTPS, then the enrollment pages are served over TLS with HSTS and Secure cookies, and the mails link to https://', async () => {
    const tlsEnv = { ...env, CERTFLOW_HTTP_TLS: 'true', CERTFLOW_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-https-')) };
    const config = loadConfig(tlsEnv);
    expect(config.publicUrl).toBe(`https://localhost:${env.CERTFLOW_HTTP_PORT}`);
    const started = startCertflow(tlsEnv);
    cleanup.push(() => groupAlive(started.child.pid!) && process.kill(-started.child.pid!, 'SIGKILL'));
    await waitForOutput(started, 'certflow is up');

    const login = await httpsRequest(`${config.publicUrl}/enroll/kdanshinnet/login`);
    expect(login.status).toBe(200);
    expect(login.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    const cookies = login.headers['set-cookie'] ?? [];
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie).toMatch(/;\s*Secure/i);
    // Plain HTTP on that port gets no page.
    expect(await fetch(`http://localhost:${env.CERTFLOW_HTTP_PORT}/enroll/kdanshinnet/login`).then((r) => r.status, () => 'refused')).not.toBe(200);

    const registered = await httpsRequest(`${config.publicUrl}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(registration('https01')),
    });
    expect(registered.status).toBe(201);
    let mails = '[]';
    for (let i = 0; i < 100 && !mails.includes('enroll/kdanshinnet'); i++) {
      mails = await (await fetch(`http://127.0.0.1:${config.mailbox.webPort}/email`)).text();
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(mails).toContain(`https://localhost:${env.CERTFLOW_HTTP_PORT}/enroll/kdanshinnet`);
    expect(mails).not.toContain(`http://localhost:${env.CERTFLOW_HTTP_PORT}/enroll`);
    expect(await pressCtrlC(started)).toBe(0);
  }, 300_000);

  it('when a port is already taken, then start-up stops with a message naming its setting', async () => {
    const blocker = http.createServer();
    await new Promise<void>((resolve) => blocker.listen(Number(env.CERTFLOW_HTTP_PORT), '127.0.0.1', resolve));
    try {
      const started = startCertflow(env);
      expect(await started.exited).toBe(1);
      expect(started.output()).toContain(`CERTFLOW_HTTP_PORT=${env.CERTFLOW_HTTP_PORT}`);
      expect(started.output()).toContain('already in use');
      expect(groupAlive(started.child.pid!)).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('when a configured value is bad, then start-up stops naming it', async () => {
    const started = startCertflow({ ...env, CERTFLOW_SMTP_PORT: 'twenty-five' });
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain('CERTFLOW_SMTP_PORT');
  });
});
