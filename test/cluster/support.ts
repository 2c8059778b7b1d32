// One cluster (scripts/cluster/start-cluster.ts) for a test file: free ports, a temp folder, mail to a real SMTP
// listener in the test (counted by Message-ID), an admin API client, certflow's database and a Temporal client.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startCluster, TEMPORAL_METRICS_OFFSET, type Cluster, type ClusterPorts, type ClusterProcess } from '../../scripts/cluster/start-cluster';
import { TEMPORAL_HIGHEST_PORT, TEMPORAL_INTERNAL_PORTS } from '../../scripts/cluster/temporal-server';
import { createDb, type Db } from '../../infra/db';
import { assertPortFree } from '../../worker/temporal-dev-server';
import type { CountedMail } from '../../bench/lifecycle-driver';
import { startTestMailbox, type ReceivedMail, type TestMailbox } from '../mail/support';

/**
 * Ports for a cluster of `processes` certflow processes (`webs` of them web), all in one free block between 20000 and
 * the Temporal Server's highest port: below the OS's ephemeral range, so no port another test is given collides.
 */
export async function freeClusterPorts(processes = 4, webs = 2): Promise<ClusterPorts> {
  const temporal = TEMPORAL_INTERNAL_PORTS + 1;
  const size = 5 + temporal + 2 * webs + processes;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (TEMPORAL_HIGHEST_PORT - 20_000 - size - TEMPORAL_METRICS_OFFSET));
    const ports: ClusterPorts = {
      http: base,
      tls: base + 1,
      postgres: base + 2,
      mailboxSmtp: base + 3,
      mailboxWeb: base + 4,
      temporal: base + 5,
      web: base + 5 + temporal,
      ops: base + 5 + temporal + 2 * webs,
    };
    // Each worker's Temporal SDK metrics listen TEMPORAL_METRICS_OFFSET above its ops port.
    const wanted = [...Array.from({ length: size }, (_, i) => base + i), ...Array.from({ length: processes }, (_, i) => ports.ops + i + TEMPORAL_METRICS_OFFSET)];
    const free = await Promise.all(wanted.map((port) => assertPortFree('127.0.0.1', port, 'probe').then(() => true, () => false)));
    if (free.every(Boolean)) return ports;
  }
  throw new Error('no free block of ports for a cluster found below the Temporal Server\'s highest port');
}

/** Polls until the probe answers truthy (an exception counts as not yet); fails naming `what` after the timeout. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await probe().catch((err) => ((last = err), undefined));
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface ApiAnswer {
  status: number;
  body: any;
  /** X-Certflow-Process: which web process answered. */
  servedBy: string | null;
}

export interface TestCluster {
  cluster: Cluster;
  /** The SMTP relay the workers send to: every mail parsed, in arrival order. */
  mailbox: TestMailbox;
  /** What the orchestrator reported after start-up (a process exiting…). */
  events: string[];
  adminToken: string;
  /** The support API through nginx (or `base`, a web process's own address). */
  api(method: string, route: string, body?: unknown, base?: string): Promise<ApiAnswer>;
  process(name: string): ClusterProcess;
  /** A web process's own plain HTTP address, bypassing nginx. */
  webUrl(name: string): string;
  /** certflow's database (the projection, issued certificates, the outbox). */
  db: Db;
  /** A client of the cluster's Temporal Server. */
  temporal: Client;
  /** The mails as countOutcomes counts them. */
  countedMails(): CountedMail[];
  mailsTo(address: string): ReceivedMail[];
  close(): Promise<void>;
}

export async function startTestCluster(name: string, o: { workers?: number; webs?: number } = {}): Promise<TestCluster> {
  const workers = o.workers ?? 2;
  const webs = o.webs ?? 2;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `certflow-${name}-`));
  // PostgreSQL runs as its own user when the tests run as root: it must be able to reach its folder.
  fs.chmodSync(dir, 0o755);
  const events: string[] = [];
  const mailbox = await startTestMailbox();
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster({
      dir,
      ports: await freeClusterPorts(workers + webs, webs),
      workers,
      webs,
      // The relay is the test's own SMTP listener: mails are counted where they arrive, by Message-ID.
      mailbox: false,
      env: {
        ...process.env,
        CERTFLOW_LOG_LEVEL: 'info',
        CERTFLOW_SMTP_HOST: '127.0.0.1',
        CERTFLOW_SMTP_PORT: String(mailbox.port),
        CERTFLOW_SMTP_SECURE: 'false',
        // A worker killed between a mail's body and the relay's answer leaves it unconfirmed: re-sent after a minute here, not 30.
        CERTFLOW_MAIL_UNCONFIRMED_RESEND_MINUTES: '1',
      },
      log: (line) => events.push(line),
    });
  } catch (err) {
    await mailbox.close();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const c = cluster;
  const adminToken = (JSON.parse(c.env.CERTFLOW_API_TOKENS) as Array<{ token: string; role: string }>).find((t) => t.role === 'admin')!.token;
  const db = createDb({ client: 'pg', connection: c.urls.database });
  const connection = await Connection.connect({ address: c.urls.temporal });
  const processOf = (processName: string) => {
    const found = c.processes.find((p) => p.name === processName);
    if (!found) throw new Error(`no process ${processName} in the cluster`);
    return found;
  };

  return {
    cluster: c,
    mailbox,
    events,
    adminToken,
    async api(method, route, body, base = c.urls.http) {
      const res = await fetch(`${base}${route}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON (nginx's own error page): kept as text.
      }
      return { status: res.status, body: parsed, servedBy: res.headers.get('x-certflow-process') };
    },
    process: processOf,
    webUrl: (processName) => `http://127.0.0.1:${processOf(processName).ports.http}`,
    db,
    temporal: new Client({ connection, namespace: c.config.temporal.namespace }),
    countedMails: () => mailbox.received.map((m) => ({ to: m.envelopeTo, messageId: m.parsed.messageId ?? '' })),
    mailsTo: (address) => mailbox.received.filter((m) => m.envelopeTo.includes(address)),
    async close() {
      await connection.close().catch(() => undefined);
      await db.destroy().catch(() => undefined);
      await c.stop();
      await mailbox.close();
      // What nginx saw go wrong besides a process it was told was down (a 502's cause), and every process's exit: printed
      // so a failed CI run, whose cluster is gone, can still be read.
      const nginxErrors = fs.existsSync(path.join(dir, 'nginx/error.log'))
        ? fs.readFileSync(path.join(dir, 'nginx/error.log'), 'utf8').split('\n').filter((l) => l && !/Connection refused|temporarily disabled/.test(l))
        : [];
      const exits = events.filter((e) => e.includes('exited'));
      if (nginxErrors.length || exits.length) console.log(`cluster ${name}: nginx errors ${JSON.stringify(nginxErrors.slice(-20))}; exits ${JSON.stringify(exits)}`);
      // CERTFLOW_TEST_KEEP_CLUSTER=1 keeps the logs and data of a failed run to read.
      if (process.env.CERTFLOW_TEST_KEEP_CLUSTER) console.log(`cluster state kept in ${dir}`);
      else fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Each request's status in the projection. */
export async function statusesOf(db: Db, requestIds: string[]): Promise<Map<string, string>> {
  const rows = (await db('requests').whereIn('request_id', requestIds).select('request_id', 'status')) as Array<{ request_id: string; status: string }>;
  return new Map(rows.map((r) => [r.request_id, r.status]));
}

/** Seconds since `began`, one decimal: the figures each test prints. */
export const secondsSince = (began: number) => Math.round((Date.now() - began) / 100) / 10;

/** Appends a test's figures to test/artifacts/cluster-faults.jsonl and prints them. */
export function recordFigures(test: string, figures: Record<string, unknown>): void {
  const root = path.resolve(__dirname, '../..');
  fs.mkdirSync(path.join(root, 'test/artifacts'), { recursive: true });
  const line = JSON.stringify({ test, ...figures, at: new Date().toISOString(), load: os.loadavg().map((l) => Math.round(l * 100) / 100) });
  fs.appendFileSync(path.join(root, 'test/artifacts/cluster-faults.jsonl'), `${line}\n`);
  console.log(line);
}
