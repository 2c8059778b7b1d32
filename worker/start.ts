// `npm start`: the whole back office on embedded defaults — Temporal dev server, dev mailbox, worker, HTTP API.
// The certflow process itself is `npm run serve`'s (worker/process.ts); this adds the dev servers and dev secrets.
import path from 'node:path';
import { withDevSecrets } from './dev-secrets';
import { assertPortFree, startTemporalDevServer } from './temporal-dev-server';
import { startDevMailbox } from './dev-mailbox';
import { assertListenPortsFree, createLifecycle, createProcessLogger, loadConfigOrExit, startCertflowProcess } from './process';

const root = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const dataDir = process.env.CERTFLOW_DATA_DIR ?? path.join(root, 'var');
  const secrets = withDevSecrets({ ...process.env, CERTFLOW_DATA_DIR: dataDir }, dataDir);
  const config = loadConfigOrExit(secrets.env);
  const logger = createProcessLogger(config);
  if (secrets.created) logger.warn({ file: secrets.file }, 'generated development secrets (CA passphrase, data key, API tokens)');

  const [temporalHost, temporalPortText] = config.temporal.address.split(':');
  const temporalPort = Number(temporalPortText);
  const useDevMailbox = ['127.0.0.1', 'localhost'].includes(config.smtp.host) && process.env.CERTFLOW_DEV_MAILBOX !== 'false';
  await Promise.all([
    assertPortFree(temporalHost, temporalPort, 'CERTFLOW_TEMPORAL_ADDRESS'),
    assertPortFree(temporalHost, config.temporal.uiPort, 'CERTFLOW_TEMPORAL_UI_PORT'),
    ...assertListenPortsFree(config),
    ...(useDevMailbox
      ? [assertPortFree('127.0.0.1', config.smtp.port, 'CERTFLOW_SMTP_PORT'), assertPortFree('127.0.0.1', config.mailbox.webPort, 'CERTFLOW_MAILBOX_WEB_PORT')]
      : []),
  ]);

  const lifecycle = createLifecycle(logger);
  await lifecycle.startUp(async () => {
    const temporalServer = await startTemporalDevServer({
      binary: path.join(root, '.tools/temporal/temporal'),
      host: temporalHost,
      port: temporalPort,
      uiPort: config.temporal.uiPort,
      dbFile: config.temporal.devServerDbFile,
      namespace: config.temporal.namespace,
      logFile: path.join(config.dataDir, 'temporal.log'),
    });
    lifecycle.onStop(() => temporalServer.stop());

    if (useDevMailbox) {
      const mailbox = await startDevMailbox({ smtpPort: config.smtp.port, webPort: config.mailbox.webPort });
      lifecycle.onStop(() => mailbox.stop());
    }

    await startCertflowProcess(config, logger, lifecycle);

    const lines = [
      'certflow is up:',
      `  web and API      ${config.publicUrl}  (health: ${config.publicUrl}/healthz, support API: ${config.publicUrl}/api/v1)`,
      `  enrollment       ${config.publicUrl}/enroll/kdanshinnet/login  ·  ${config.publicUrl}/enroll/nissay/login`,
      `  TLS client auth  ${config.tlsPublicUrl}/renew/kdanshinnet/  (portal gate: ${config.tlsPublicUrl}/portal/kdanshinnet/)`,
      `  CRLs             ${config.publicUrl}/crl/kdanshinnet.crl  ·  ${config.publicUrl}/crl/nissay.crl`,
      `  OCSP             ${config.publicUrl}/ocsp/kdanshinnet  ·  ${config.publicUrl}/ocsp/nissay`,
      `  Temporal Web UI  http://${temporalHost}:${config.temporal.uiPort}  (gRPC ${config.temporal.address}, data ${config.temporal.devServerDbFile})`,
      ...(useDevMailbox ? [`  dev mailbox      http://127.0.0.1:${config.mailbox.webPort}  (SMTP 127.0.0.1:${config.smtp.port})`] : []),
      `  database         ${config.db.client === 'sqlite' ? config.db.connection : 'PostgreSQL'}`,
      `  secrets          ${secrets.file}`,
      'Press Ctrl-C to stop.',
    ];
    console.log(lines.join('\n'));
  });
}

main().catch((err: Error) => {
  console.error(`certflow cannot start: ${err.message}`);
  process.exit(1);
});
