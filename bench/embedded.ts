// The embedded default for the benches: a Temporal dev server, SQLite, and one process holding the worker, the HTTP
// API and the runtime — `npm start`'s shape, with mail sent to the given SMTP port.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createLogger } from '../infra/logger';
import { freePort } from '../infra/ports';
import { loadConfig } from '../worker/config';
import { createHttpSide, createRuntime, type Runtime } from '../worker/composition';
import { startTemporalDevServer } from '../worker/temporal-dev-server';
import { createCertflowWorker } from '../worker/worker';
import type { LifecycleTarget } from './lifecycle-driver';

const root = path.resolve(__dirname, '..');

export interface EmbeddedStack {
  target: LifecycleTarget;
  runtime: Runtime;
  client: Client;
  /** The worker's connection, for a bench's own extra workers. */
  nativeConnection: NativeConnection;
  taskQueue: string;
  close(): Promise<void>;
}

/** `settings`: more CERTFLOW_* values for the stack's configuration (e.g. the mail rate). */
export async function startEmbeddedStack(o: { name: string; smtpPort: number; settings?: Record<string, string> }): Promise<EmbeddedStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `certflow-${o.name}-`));
  const temporalPort = await freePort();
  const temporalServer = await startTemporalDevServer({
    binary: path.join(root, '.tools/temporal/temporal'),
    host: '127.0.0.1',
    port: temporalPort,
    uiPort: await freePort(),
    dbFile: path.join(dir, 'temporal.sqlite'),
    namespace: 'default',
    logFile: path.join(dir, 'temporal.log'),
  });
  const taskQueue = `${o.name}-${crypto.randomUUID()}`;
  const adminToken = crypto.randomBytes(24).toString('base64url');
  const config = loadConfig({
    CERTFLOW_DATA_DIR: dir,
    CERTFLOW_SMTP_PORT: String(o.smtpPort),
    CERTFLOW_TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    CERTFLOW_TASK_QUEUE: taskQueue,
    CERTFLOW_CA_PASSPHRASE: crypto.randomBytes(18).toString('base64url'),
    CERTFLOW_DATA_KEY: crypto.randomBytes(32).toString('hex'),
    CERTFLOW_SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
    CERTFLOW_API_TOKENS: JSON.stringify([{ token: adminToken, role: 'admin', agent: 'bench' }]),
    ...o.settings,
  });
  const runtime = await createRuntime(config);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection });
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createCertflowWorker({
    connection: nativeConnection,
    taskQueue,
    activities: runtime.activities,
    maxCachedWorkflows: config.temporal.workflowCacheSize,
    mailMaxPerSecond: config.smtp.maxMailsPerSecond,
  });
  const running = worker.run();
  runtime.keyPool.start(createLogger('error'));
  const { app } = await createHttpSide(runtime, { client, connection, logger: createLogger('warn') });
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    target: { baseUrl, adminToken, client, ca: runtime.ca, db: runtime.db },
    runtime,
    client,
    nativeConnection,
    taskQueue,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await runtime.close();
      await temporalServer.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
