// The whole of certflow for one API test file: Temporal dev server, real SMTP listener, real PKI, worker and HTTP API.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createLogger } from '../../infra/logger';
import { loadConfig } from '../../worker/config';
import { createCertflowWorker } from '../../worker/worker';
import { createHttpSide, createRuntime, type Runtime } from '../../worker/composition';
import { listenOnLoopback } from '../support/listen';
import type { DomainDeps } from '../../domain';
import { supportApiDocument } from '../../api/support/router';
import { createContractRecorder, type ContractRecorder } from './contract-recorder';
import { startTestMailbox, type ReceivedMail, type TestMailbox } from '../mail/support';
import { createPostgresDatabase, type DatabaseKind } from '../support/databases';
import { createDevServerEnv } from '../support/temporal';

export interface ApiStack {
  /** The database the runtime runs on: the SQLite file in dataDir, or a fresh database on the run's PostgreSQL. */
  database: DatabaseKind;
  /** The stack's own Temporal dev server: workflow IDs come from per-database request IDs, so stacks never share one. */
  env: TestWorkflowEnvironment;
  runtime: Runtime;
  /** The domain the API runs on, for tests that call a use case directly. */
  domain: DomainDeps;
  mailbox: TestMailbox;
  dataDir: string;
  baseUrl: string;
  taskQueue: string;
  tokens: { admin: string; support: string };
  /** Every line the HTTP side logged. */
  logs: string[];
  /** Every answer `call` received, each checked against the OpenAPI document as it arrived. */
  contract: ContractRecorder;
  /** One API call; an answer its OpenAPI operation does not declare (status, content type or body) throws. */
  call(method: string, urlPath: string, options?: { token?: string | null; body?: unknown; raw?: string | Buffer; contentType?: string }): Promise<{ status: number; body: any }>;
  /** Resolves with the mails to `to` once `count` of them have arrived. */
  mailsTo(to: string, count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Stops everything, then fails if an operation test/api/contract-coverage.ts assigns to this test file was never called. */
  close(): Promise<void>;
}

/** `settings`: more CERTFLOW_* values for this stack's configuration (e.g. the mail rate). */
export async function startApiStack(name: string, { database, settings = {} }: { database: DatabaseKind; settings?: Record<string, string> }): Promise<ApiStack> {
  const testFile = expect.getState().testPath;
  const contract = createContractRecorder(supportApiDocument());
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `certflow-${name}-`));
  const postgres = database === 'postgresql' ? await createPostgresDatabase() : undefined;
  const mailbox = await startTestMailbox();
  const env = await createDevServerEnv();
  const taskQueue = `api-${name}-${database}-${crypto.randomUUID()}`;
  const tokens = { admin: crypto.randomBytes(24).toString('base64url'), support: crypto.randomBytes(24).toString('base64url') };
  const config = loadConfig({
    CERTFLOW_DATA_DIR: dataDir,
    ...(postgres && { CERTFLOW_DB_CLIENT: 'pg', CERTFLOW_DB_URL: postgres.settings.connection }),
    CERTFLOW_SMTP_PORT: String(mailbox.port),
    CERTFLOW_TASK_QUEUE: taskQueue,
    CERTFLOW_CA_PASSPHRASE: crypto.randomBytes(18).toString('base64url'),
    CERTFLOW_DATA_KEY: crypto.randomBytes(32).toString('hex'),
    CERTFLOW_SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
    CERTFLOW_API_TOKENS: JSON.stringify([
      { token: tokens.admin, role: 'admin', agent: 'admin-sato' },
      { token: tokens.support, role: 'support', agent: 'support-tanaka' },
    ]),
    ...settings,
  });
  const runtime = await createRuntime(config);
  const worker = await createCertflowWorker({
    connection: env.nativeConnection,
    taskQueue,
    activities: runtime.activities,
    mailMaxPerSecond: config.smtp.maxMailsPerSecond,
  });
  const running = worker.run();
  const logs: string[] = [];
  const logger = createLogger('debug', new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } }));
  const { app, domain } = await createHttpSide(runtime, { client: env.client, connection: env.connection, logger });
  // Keeps idle connections as production does: the tests stall their own event loop (a 5,000-entry CRL signs for seconds).
  const { server, baseUrl } = await listenOnLoopback(app);

  return {
    database,
    env,
    runtime,
    domain,
    mailbox,
    dataDir,
    baseUrl,
    taskQueue,
    tokens,
    logs,
    contract,
    async call(method, urlPath, { token = tokens.admin, body, raw, contentType = 'application/json' } = {}) {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined || raw !== undefined) headers['content-type'] = contentType;
      const res = await fetch(`${baseUrl}${urlPath}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
      const text = await res.text();
      contract.record(method, urlPath, res.status, res.headers.get('content-type'), text);
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async mailsTo(to, count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mails = mailbox.received.filter((m) => m.envelopeTo.includes(to));
        if (mails.length >= count) return mails;
        if (Date.now() > deadline) throw new Error(`only ${mails.length} of ${count} mails to ${to} arrived within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      worker.shutdown();
      await running;
      await runtime.close();
      await env.teardown();
      await mailbox.close();
      await postgres?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (testFile) contract.assertExercised(testFile);
    },
  };
}

export function registration(userId: string, overrides: Record<string, unknown> = {}) {
  return {
    userId,
    profile: 'kdanshinnet',
    email: `${userId}@bank.example.co.jp`,
    idAdminEmail: `id-admin.${userId}@bank.example.co.jp`,
    organization: 'sampleCompany',
    organizationalUnits: ['div1-1-1', 'div1-1', 'div1'],
    subscriberId: `S-${userId}`,
    ...overrides,
  };
}

/** The enrollment password as the user reads it in ログインパスワードのお知らせ. */
export function passwordFromMail(mail: ReceivedMail): string {
  const match = /【クライアント証明書取得用パスワード】\s*\n\s*(\S+)/.exec(mail.parsed.text ?? '');
  if (!match) throw new Error(`no enrollment password in mail "${mail.parsed.subject}"`);
  return match[1]!;
}

/** Waits until the condition holds (polling), failing with `what` after the timeout. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
