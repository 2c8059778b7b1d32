// `npm run start:cluster`'s cluster, driven through its handle: nginx spreads requests over the web processes, a
// registration's workflow runs on the worker processes and its mails reach the mailbox, and a second start on the
// same data finds the user again. Cold and warm start times are printed and kept in test/artifacts/.
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Client, Connection } from '@temporalio/client';
import { startCluster, type Cluster, type ClusterPorts } from '../../scripts/cluster/start-cluster';
import { assertPortFree } from '../../worker/temporal-dev-server';
import { registration } from '../api/stack';
import { alive, eventually, freeClusterPorts } from './support';

const root = path.resolve(__dirname, '../..');

/** GET over TLS through nginx, trusting only the cluster's own server certificate; the certificate the peer showed. */
function tlsGet(url: string, ca: string): Promise<{ status: number; body: string; peer: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, servername: 'localhost' }, (res) => {
      const peer = (res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '';
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, peer }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

interface MailDevMail {
  subject: string;
  to: Array<{ address: string }>;
}

describe('npm run start:cluster', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-cluster-'));
  // PostgreSQL runs as its own user when the tests run as root: it must be able to reach its folder.
  fs.chmodSync(dir, 0o755);
  const events: string[] = [];
  const times: Record<string, number> = {};
  let ports: ClusterPorts;
  let cluster: Cluster | undefined;
  let api: (method: string, route: string, body?: unknown) => Promise<{ status: number; body: any; servedBy: string | null }>;

  const start = async (label: string) => {
    const began = Date.now();
    cluster = await startCluster({ dir, ports, env: { ...process.env, CERTFLOW_LOG_LEVEL: 'info' }, log: (line) => events.push(line) });
    times[label] = (Date.now() - began) / 1000;
    const admin = (JSON.parse(cluster.env.CERTFLOW_API_TOKENS) as Array<{ token: string; role: string }>).find((t) => t.role === 'admin')!.token;
    api = async (method, route, body) => {
      const res = await fetch(`${cluster!.urls.http}${route}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json().catch(() => undefined), servedBy: res.headers.get('x-certflow-process') };
    };
  };

  beforeAll(async () => {
    ports = await freeClusterPorts();
    // Cold: a fresh folder (initdb, Temporal schema, migrations, CAs); the Temporal Server build itself is cached.
    await start('coldStartSeconds');
  }, 600_000);

  afterAll(async () => {
    await cluster?.stop();
    fs.mkdirSync(path.join(root, 'test/artifacts'), { recursive: true });
    fs.writeFileSync(path.join(root, 'test/artifacts/cluster-start-times.json'), `${JSON.stringify({ ...times, at: new Date().toISOString(), cpus: os.cpus().length, load: os.loadavg() })}\n`);
    console.log(`cluster start times: ${JSON.stringify(times)}`);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('when it is up, then it runs two workers and two web processes, and consecutive requests through nginx land on different web processes', async () => {
    expect(cluster!.processes.map((p) => `${p.name}:${p.role}`)).toEqual(['worker-1:worker', 'worker-2:worker', 'web-1:web', 'web-2:web']);
    expect(cluster!.processes.every((p) => p.running() && alive(p.pid))).toBe(true);
    expect(cluster!.describe().join('\n')).toContain(cluster!.urls.http);

    const servedBy: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${cluster!.urls.http}/enroll/kdanshinnet/login`);
      expect(res.status).toBe(200);
      servedBy.push(res.headers.get('x-certflow-process')!);
    }
    expect(servedBy[0]).not.toBe(servedBy[1]);
    expect(new Set(servedBy)).toEqual(new Set(['web-1', 'web-2']));

    // TLS is passed through: the peer is certflow's own listener with the cluster's certificate, and it answers.
    const ca = fs.readFileSync(cluster!.env.CERTFLOW_TLS_CERT_FILE, 'utf8');
    const portal = await tlsGet(`${cluster!.urls.tls}/portal/kdanshinnet/`, ca);
    expect(portal.peer).toBe(new X509Certificate(ca).fingerprint256);
    expect(portal).toMatchObject({ status: 403, body: 'forbidden' });
  });

  it('when an admin registers a user through nginx, then a web process takes it, the workflow runs on the workers and the guide mails reach the mailbox', async () => {
    const res = await api('POST', '/api/v1/users', registration('cluster01'));
    expect(res.status).toBe(201);
    expect(res.servedBy).toMatch(/^web-[12]$/);
    const { requestId, workflowId } = res.body as { requestId: string; workflowId: string };

    await eventually(async () => (await api('GET', `/api/v1/requests/${requestId}`)).body?.status === 'awaitingKeyRetrieval', 'the request to await key retrieval');
    const mails = await eventually(async () => {
      const list = (await (await fetch(new URL('email', cluster!.urls.mailbox)).then((r) => r.json()))) as MailDevMail[];
      const ours = list.filter((m) => m.to.some((t) => t.address.includes('cluster01@')));
      return ours.length >= 3 ? ours : undefined;
    }, 'the three guide mails in the mailbox');
    expect(mails.map((m) => m.subject).sort()).toEqual(
      ['【団信ネット（3社共用）】ユーザーIDのお知らせ', '【団信ネット（3社共用）】クライアント証明書取得のご案内', '【団信ネット（3社共用）】ログインパスワードのお知らせ'].sort(),
    );

    // Every workflow and activity task of it was taken by a worker process, never by a web process.
    const connection = await Connection.connect({ address: cluster!.urls.temporal });
    try {
      const history = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
      const identities = new Set(
        history.events!.flatMap((e) => [e.workflowTaskStartedEventAttributes?.identity, e.activityTaskStartedEventAttributes?.identity].filter((i): i is string => !!i)),
      );
      const pidOf = (identity: string) => Number(identity.split('@')[0]);
      const workerPids = cluster!.processes.filter((p) => p.role === 'worker').map((p) => p.pid);
      expect(identities.size).toBeGreaterThan(0);
      for (const identity of identities) expect(workerPids).toContain(pidOf(identity));
    } finally {
      await connection.close();
    }
  });

  it('when a web process is killed, then the crash is logged, nginx sends requests to the other, and it can be started again', async () => {
    const web1 = cluster!.processes.find((p) => p.name === 'web-1')!;
    const pid = web1.pid;
    web1.kill();
    await eventually(async () => events.some((e) => e.includes(`web-1 (web, pid ${pid}) exited with SIGKILL`)), 'the crash to be logged', 10_000);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${cluster!.urls.http}/healthz`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-certflow-process')).toBe('web-2');
    }
    await web1.restart();
    expect(web1.pid).not.toBe(pid);
    await eventually(async () => {
      const seen = new Set<string | null>();
      for (let i = 0; i < 4; i++) seen.add((await fetch(`${cluster!.urls.http}/healthz`)).headers.get('x-certflow-process'));
      return seen.has('web-1') && seen.has('web-2');
    }, 'nginx to use web-1 again', 30_000);
  });

  it('when the cluster is stopped and started again on the same data, then nothing is left running and the user and its workflow are found again', async () => {
    const pids = cluster!.processes.map((p) => p.pid);
    await cluster!.stop();
    expect(pids.filter(alive)).toEqual([]);
    // Each process drained and exited on SIGTERM; none needed SIGKILL.
    expect(events.filter((e) => e.includes('killed'))).toEqual([]);
    await Promise.all([ports.http, ports.tls, ports.postgres, ports.temporal].map((p) => assertPortFree('127.0.0.1', p, `port ${p}`)));

    await start('warmStartSeconds');
    const user = await api('GET', '/api/v1/users/cluster01');
    expect(user.status).toBe(200);
    expect(JSON.stringify(user.body)).toContain('awaitingKeyRetrieval');
    const connection = await Connection.connect({ address: cluster!.urls.temporal });
    try {
      const running = await new Client({ connection }).workflow.list({ query: `CertUserId = "cluster01" AND ExecutionStatus = "Running"` });
      const found: string[] = [];
      for await (const execution of running) found.push(execution.workflowId);
      expect(found).toHaveLength(1);
    } finally {
      await connection.close();
    }
  });
});
