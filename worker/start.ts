// `npm start`: the whole back office on embedded defaults — Temporal dev server, dev mailbox, worker, HTTP API.
import http from 'node:http';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadConfig, type Config } from './config';
import { withDevSecrets } from './dev-secrets';
import { assertPortFree, startTemporalDevServer, type RunningDevServer } from './temporal-dev-server';
import { createHttpSide, createRuntime, type Runtime } from './composition';
import { createCertflowWorker } from './worker';
import { createLogger } from '../infra/logger';
import { startDevMailbox, type DevMailbox } from './dev-mailbox';
import { ensureTlsServerCertificate } from '../api/tls/server-certificate';

const root = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const dataDir = process.env.CERTFLOW_DATA_DIR ?? path.join(root, 'var');
  const secrets = withDevSecrets({ ...process.env, CERTFLOW_DATA_DIR: dataDir }, dataDir);
  let config: Config;
  try {
    config = loadConfig(secrets.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`certflow cannot start: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  if (secrets.created) logger.warn({ file: secrets.file }, 'generated development secrets (CA passphrase, data key, API tokens)');

  const [temporalHost, temporalPortText] = config.temporal.address.split(':');
  const temporalPort = Number(temporalPortText);
  const useDevMailbox = ['127.0.0.1', 'localhost'].includes(config.smtp.host) && process.env.CERTFLOW_DEV_MAILBOX !== 'false';
  await Promise.all([
    assertPortFree(temporalHost, temporalPort, 'CERTFLOW_TEMPORAL_ADDRESS'),
    assertPortFree(temporalHost, config.temporal.uiPort, 'CERTFLOW_TEMPORAL_UI_PORT'),
    assertPortFree(config.http.host, config.http.port, 'CERTFLOW_HTTP_PORT'),
    assertPortFree(config.http.host, config.http.tlsPort, 'CERTFLOW_TLS_PORT'),
    ...(useDevMailbox
      ? [assertPortFree('127.0.0.1', config.smtp.port, 'CERTFLOW_SMTP_PORT'), assertPortFree('127.0.0.1', config.mailbox.webPort, 'CERTFLOW_MAILBOX_WEB_PORT')]
      : []),
  ]);

  const stops: Array<() => Promise<unknown>> = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping certflow');
    for (const stop of stops.reverse()) {
      await stop().catch((err) => logger.error({ err }, 'error while stopping'));
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    const temporalServer: RunningDevServer = await startTemporalDevServer({
      binary: path.join(root, '.tools/temporal/temporal'),
      host: temporalHost,
      port: temporalPort,
      uiPort: config.temporal.uiPort,
      dbFile: config.temporal.devServerDbFile,
      namespace: config.temporal.namespace,
      logFile: path.join(config.dataDir, 'temporal.log'),
    });
    stops.push(() => temporalServer.stop());

    if (useDevMailbox) {
      const mailbox: DevMailbox = await startDevMailbox({ smtpPort: config.smtp.port, webPort: config.mailbox.webPort });
      stops.push(() => mailbox.stop());
    }

    const runtime: Runtime = await createRuntime(config);
    stops.push(() => runtime.close());

    const connection = await Connection.connect({ address: config.temporal.address });
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace });

    const workerConnection = await NativeConnection.connect({ address: config.temporal.address });
    stops.push(() => workerConnection.close());
    const worker = await createCertflowWorker({
      connection: workerConnection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      activities: runtime.activities,
    });
    const workerRun = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await workerRun;
    });
    workerRun.catch((err) => {
      logger.fatal({ err }, 'the worker stopped');
      void shutdown(1);
    });

    const { app, tlsServer } = await createHttpSide(runtime, {
      client,
      connection,
      logger,
      serverCertificate: await ensureTlsServerCertificate(path.join(config.dataDir, 'tls')),
    });
    for (const [server, port] of [[http.createServer(app), config.http.port], [tlsServer!, config.http.tlsPort]] as const) {
      await new Promise<void>((resolve) => server.listen(port, config.http.host, resolve));
      stops.push(() => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); }));
    }

    const lines = [
      'certflow is up:',
      `  web and API      ${config.publicUrl}  (health: ${config.publicUrl}/healthz, support API: ${config.publicUrl}/api/v1)`,
      `  enrollment       ${config.publicUrl}/enroll/kdanshinnet/login  ·  ${config.publicUrl}/enroll/nissay/login`,
      `  TLS client auth  ${config.tlsPublicUrl}/renew/kdanshinnet/  (portal gate: ${config.tlsPublicUrl}/portal/kdanshinnet/)`,
      `  CRLs             ${config.publicUrl}/crl/kdanshinnet.crl  ·  ${config.publicUrl}/crl/nissay.crl`,
      `  Temporal Web UI  http://${temporalHost}:${config.temporal.uiPort}  (gRPC ${config.temporal.address}, data ${config.temporal.devServerDbFile})`,
      ...(useDevMailbox ? [`  dev mailbox      http://127.0.0.1:${config.mailbox.webPort}  (SMTP 127.0.0.1:${config.smtp.port})`] : []),
      `  database         ${config.db.client === 'sqlite' ? config.db.connection : 'PostgreSQL'}`,
      `  secrets          ${secrets.file}`,
      'Press Ctrl-C to stop.',
    ];
    console.log(lines.join('\n'));
  } catch (err) {
    console.error(`certflow cannot start: ${(err as Error).message}`);
    await shutdown(1);
  }
}

main().catch((err: Error) => {
  console.error(`certflow cannot start: ${err.message}`);
  process.exit(1);
});
