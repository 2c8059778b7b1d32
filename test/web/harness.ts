// One certflow for a web test file: time-skipping Temporal, a worker on the real runtime, a real SMTP listener,
// the plain HTTP app and the TLS listener on free ports, and users registered the way registration does it.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createApp } from '../../api/app';
import { createTlsServer } from '../../api/tls/server';
import { createSelfSignedServerCertificate, type TlsServerCertificate } from '../../api/tls/server-certificate';
import { tokyoDay } from '../../domain/context';
import { newEnrollmentPassword } from '../../domain/enrollment-password';
import { renderErrorPage } from '../../api/web/pages-errors';
import { createWebRouter, type WebDeps } from '../../api/web/router';
import { createLogger } from '../../infra/logger';
import { createRequestStore } from '../../stores/requests';
import { createUserStore } from '../../stores/users';
import { loadConfig } from '../../worker/config';
import { createRuntime, lifecyclePolicy, type Runtime } from '../../worker/runtime';
import { certificateWorkflowId, type Profile } from '../../workflows/definitions';
import { startTestMailbox, type ReceivedMail, type TestMailbox } from '../mail/support';
import { createTimeSkippingEnv } from '../support/temporal';
import { freePort } from '../../infra/ports';

export interface WebHarness {
  env: TestWorkflowEnvironment;
  runtime: Runtime;
  mailbox: TestMailbox;
  httpUrl: string;
  tlsUrl: string;
  tlsPort: number;
  serverCertificate: TlsServerCertificate;
  dir: string;
  deps: WebDeps;
  close(): Promise<void>;
}


export async function startWebHarness(options: Partial<Pick<WebDeps, 'idleTimeoutMs' | 'lockout' | 'loginAttemptsPerMinute'>> = {}): Promise<WebHarness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-web-'));
  const mailbox = await startTestMailbox();
  const env = await createTimeSkippingEnv();
  const httpServer = http.createServer();
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
  });
  const runtime = await createRuntime(config);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: runtime.activities,
  });
  const running = worker.run();
  const logger = createLogger('silent');
  const deps: WebDeps = {
    db: runtime.db,
    client: env.client,
    ca: runtime.ca,
    profiles: runtime.profiles,
    support: config.support,
    sessionSecret: config.sessionSecret,
    // Business time is the test server's, which the tests skip ahead.
    clock: async () => new Date(await env.currentTimeMs()),
    logger,
    ...options,
  };
  const app = createApp({ db: runtime.db, temporal: env.connection, logger, routers: [createWebRouter(deps)], renderErrorPage });
  httpServer.on('request', app);
  const serverCertificate = await createSelfSignedServerCertificate(['localhost', '127.0.0.1']);
  const tlsServer = await createTlsServer({ ...deps, serverCertificate });
  await new Promise<void>((resolve) => tlsServer.listen(tlsPort, '127.0.0.1', () => resolve()));
  return {
    env,
    runtime,
    mailbox,
    httpUrl: `http://localhost:${httpPort}`,
    tlsUrl: `https://localhost:${tlsPort}`,
    tlsPort,
    serverCertificate,
    dir,
    deps,
    async close() {
      tlsServer.closeAllConnections();
      httpServer.closeAllConnections();
      await new Promise((resolve) => tlsServer.close(resolve));
      await new Promise((resolve) => httpServer.close(resolve));
      worker.shutdown();
      await running;
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

/** What registration does: user row, request with the password's hash, sealed password, workflow started. */
export async function registerUser(h: WebHarness, userId: string, profile: Profile = 'kdanshinnet'): Promise<RegisteredUser> {
  const { db, sealedSecrets, profiles } = h.runtime;
  const email = `${userId}@bank-a.example.jp`;
  const now = new Date(await h.env.currentTimeMs());
  const requests = createRequestStore(db);
  const users = createUserStore(db);
  await users.insert({
    userId,
    profile,
    email,
    idAdminEmail: `id-admin-${userId}@bank-a.example.jp`,
    organization: 'sampleCompany',
    organizationalUnits: ['div1-1-1', 'div1-1', 'div1'],
    subscriberId: userId,
    createdAt: now,
  });
  const requestId = await requests.nextRequestId(tokyoDay(now));
  const workflowId = certificateWorkflowId(profile, requestId);
  const { password, hash } = await newEnrollmentPassword();
  await requests.insert({ requestId, userId, profile, kind: 'new', workflowId, enrollmentPasswordHash: hash }, now);
  await users.setCurrentRequest(userId, profile, requestId);
  const enrollmentPasswordRef = await sealedSecrets.seal(password);
  await h.env.client.workflow.start('certificateWorkflow', {
    taskQueue: h.runtime.config.temporal.taskQueue,
    workflowId,
    args: [{ requestId, profile, userId, kind: 'new', policy: lifecyclePolicy(profiles[profile]), enrollmentPasswordRef, notifyIdAdministrator: true }],
  });
  return { userId, profile, email, requestId, workflowId };
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
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
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
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
