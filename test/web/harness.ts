// One certflow for a web test file: time-skipping Temporal, a worker on the real runtime, a real SMTP listener,
// the plain HTTP app and the TLS listener on free ports, and users registered the way registration does it.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createSelfSignedServerCertificate, type TlsServerCertificate } from '../../api/tls/server-certificate';
import type { WebDeps } from '../../api/web/page-kit';
import { registerUser as register, type DomainDeps } from '../../domain';
import { createLogger } from '../../infra/logger';
import { freePort } from '../../infra/ports';
import { loadConfig } from '../../worker/config';
import { createCertflowWorker } from '../../worker/worker';
import { createHttpSide, createRuntime, keepIdleConnections, type Runtime } from '../../worker/composition';
import type { Profile } from '../../workflows/definitions';
import { startTestMailbox, type ReceivedMail, type TestMailbox } from '../mail/support';
import { createTimeSkippingEnv } from '../support/temporal';

export interface WebHarness {
  env: TestWorkflowEnvironment;
  runtime: Runtime;
  mailbox: TestMailbox;
  httpUrl: string;
  tlsUrl: string;
  tlsPort: number;
  serverCertificate: TlsServerCertificate;
  dir: string;
  /** The domain the pages run on (business time is the test server's). */
  domain: DomainDeps;
  /**
   * Shuts the in-process worker down (an activity in flight is cancelled between two lines) and starts a new one on the
   * same task queue. Only for a harness started with `restartableWorker`.
   */
  restartWorker(): Promise<void>;
  close(): Promise<void>;
}

export type WebHarnessOptions = Partial<Pick<WebDeps, 'idleTimeoutMs' | 'loginThrottle' | 'loginFailuresPerMinute'>> & {
  /**
   * Workers without a workflow cache, hence without sticky task queues: the time-skipping server never moves a task off
   * a stopped worker's sticky queue (a real server does, told by the worker's shutdown), so after restartWorker() the
   * open workflows would wait for tasks that never come. Every workflow task then replays its history.
   */
  restartableWorker?: boolean;
};


export async function startWebHarness(
  { restartableWorker = false, ...options }: WebHarnessOptions = {},
  /** More CERTFLOW_* settings (e.g. API tokens for a test that also drives the support API). */
  settings: Record<string, string> = {},
  /** Runs on the runtime before the listeners are built (e.g. a previous CA the TLS listener must name). */
  prepare?: (runtime: Runtime) => Promise<void>,
): Promise<WebHarness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-web-'));
  const mailbox = await startTestMailbox();
  const env = await createTimeSkippingEnv();
  const httpServer = keepIdleConnections(http.createServer());
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve()));
  const httpPort = (httpServer.address() as AddressInfo).port;
  const tlsPort = await freePort();
  const config = loadConfig({
    CERTFLOW_DATA_DIR: dir,
    CERTFLOW_CA_PASSPHRASE: 'web-test-ca-passphrase',
    CERTFLOW_DATA_KEY: '5a'.repeat(32),
    CERTFLOW_SESSION_SECRET: 'web-test-session-secret-0123456789abcdef',
    CERTFLOW_SMTP_PORT: String(mailbox.port),
    CERTFLOW_PUBLIC_URL: `http://localhost:${httpPort}`,
    CERTFLOW_TLS_PUBLIC_URL: `https://localhost:${tlsPort}`,
    CERTFLOW_LOG_LEVEL: 'silent',
    ...settings,
  });
  const runtime = await createRuntime(config);
  await prepare?.(runtime);
  const startWorker = async () => {
    const worker = await createCertflowWorker({
      connection: env.nativeConnection,
      taskQueue: config.temporal.taskQueue,
      activities: runtime.activities,
      ...(restartableWorker ? { maxCachedWorkflows: 0 } : {}),
    });
    return { worker, running: worker.run() };
  };
  let current = await startWorker();
  const stopWorker = async () => {
    current.worker.shutdown();
    await current.running;
  };
  const serverCertificate = await createSelfSignedServerCertificate(['localhost', '127.0.0.1']);
  const { app, tlsServer, domain } = await createHttpSide(runtime, {
    client: env.client,
    connection: env.connection,
    logger: createLogger('silent'),
    // Business time is the test server's, which the tests skip ahead.
    clock: async () => new Date(await env.currentTimeMs()),
    serverCertificate,
    web: options,
  });
  httpServer.on('request', app);
  await new Promise<void>((resolve) => tlsServer!.listen(tlsPort, '127.0.0.1', () => resolve()));
  return {
    env,
    runtime,
    mailbox,
    httpUrl: `http://localhost:${httpPort}`,
    tlsUrl: `https://localhost:${tlsPort}`,
    tlsPort,
    serverCertificate,
    dir,
    domain,
    async restartWorker() {
      if (!restartableWorker) throw new Error('restartWorker() needs startWebHarness({ restartableWorker: true })');
      await stopWorker();
      current = await startWorker();
    },
    async close() {
      tlsServer!.closeAllConnections();
      httpServer.closeAllConnections();
      await new Promise((resolve) => tlsServer!.close(resolve));
      await new Promise((resolve) => httpServer.close(resolve));
      await stopWorker();
      await env.teardown();
      await runtime.close();
      await mailbox.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RegisteredUser {
  userId: string;
  profile: Profile;
  email: string;
  requestId: string;
  workflowId: string;
}

/** Registers a user through the domain's own registration: user row, request, sealed password, workflow, mails. */
export async function registerUser(h: WebHarness, userId: string, profile: Profile = 'kdanshinnet'): Promise<RegisteredUser> {
  const email = `${userId}@bank-a.example.jp`;
  const registered = await register(h.domain, {
    userId,
    profile,
    email,
    idAdminEmail: `id-admin-${userId}@bank-a.example.jp`,
    organization: 'sampleCompany',
    organizationalUnits: ['div1-1-1', 'div1-1', 'div1'],
    subscriberId: userId,
  });
  return { ...registered, email };
}

export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function mailTo(box: TestMailbox, to: string, subjectPart: string): Promise<ReceivedMail> {
  return waitFor(() => box.received.find((m) => m.envelopeTo.includes(to) && (m.parsed.subject ?? '').includes(subjectPart)), `mail "${subjectPart}" to ${to}`);
}

/** The enrollment password, link and request ID as the user reads them from their two mails. */
export async function readEnrollmentMails(h: WebHarness, user: RegisteredUser) {
  const passwordMail = await mailTo(h.mailbox, user.email, 'ログインパスワードのお知らせ');
  const guide = await mailTo(h.mailbox, user.email, 'クライアント証明書取得のご案内');
  const password = /【クライアント証明書取得用パスワード】\s*\n\s*(\S+)/.exec(passwordMail.parsed.text ?? '')?.[1];
  const link = /(https?:\/\/\S+\/enroll\/\S+\/login)/.exec(guide.parsed.text ?? '')?.[1];
  const requestId = /Request ID: (\d{15})/.exec(guide.parsed.text ?? '')?.[1];
  if (!password || !link || !requestId) throw new Error(`could not read the enrollment mails:\n${passwordMail.parsed.text}\n${guide.parsed.text}`);
  return { password, link, requestId };
}

/** An HTTPS request to the TLS listener, with or without a client certificate (PKCS#12). */
export function tlsRequest(
  h: WebHarness,
  pathName: string,
  options: { pfx?: Buffer; passphrase?: string; key?: string; cert?: string; method?: string; body?: string; cookie?: string } = {},
): Promise<{ status: number; body: string; raw: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${h.tlsUrl}${pathName}`,
      {
        method: options.method ?? 'GET',
        ca: h.serverCertificate.certificatePem,
        pfx: options.pfx,
        passphrase: options.passphrase,
        key: options.key,
        cert: options.cert,
        agent: false,
        headers: {
          accept: 'text/html',
          ...(options.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...(options.cookie ? { cookie: options.cookie } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          resolve({ status: res.statusCode!, body: raw.toString('utf8'), raw, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The form token a page carries (empty when it has none). */
export const formTokenOf = (body: string) => /name="formToken" value="([^"]+)"/.exec(body)?.[1] ?? '';

/**
 * One browser on the TLS listener: a client certificate (PEM key and certificate) and the cookies the pages set.
 * `browse(path)` GETs, `browse(path, form)` POSTs the form.
 */
export function tlsBrowser(h: WebHarness, client: { key: string; cert: string }) {
  const cookies = new Map<string, string>();
  return async (pathName: string, form?: Record<string, string>) => {
    const res = await tlsRequest(h, pathName, {
      ...client,
      cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') || undefined,
      ...(form ? { method: 'POST', body: new URLSearchParams(form).toString() } : {}),
    });
    for (const header of res.headers['set-cookie'] ?? []) {
      const [pair] = header.split(';');
      const [name, ...value] = pair!.split('=');
      cookies.set(name!.trim(), value.join('='));
    }
    return res;
  };
}
