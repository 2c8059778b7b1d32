// `npm start`: the whole back office on embedded defaults — Temporal dev server, dev mailbox, worker, HTTP API.
// The certflow process itself is `npm run serve`'s (worker/process.ts); this adds the dev servers and dev secrets.
import fs from 'node:fs';
import path from 'node:path';
import { withDevSecrets } from './dev-secrets';
import { assertPortFree, startTemporalDevServer } from './temporal-dev-server';
import { superviseChild } from './child-process';
import { startDevMailbox } from './dev-mailbox';
import { assertListenPortsFree, closeDataDir, createLifecycle, createProcessLogger, loadConfigOrExit, startCertflowProcess } from './process';

const root = path.resolve(__dirname, '..');
const PORT_GRACE_MS = 15_000;
/** Present while a start runs; still there at the next start when that one was killed. */
const START_MARKER = 'start.pid';

async function main(): Promise<void> {
  const dataDir = process.env.CERTFLOW_DATA_DIR ?? path.join(root, 'var');
  closeDataDir(dataDir);
  const secrets = withDevSecrets({ ...process.env, CERTFLOW_DATA_DIR: dataDir }, dataDir);
  const config = loadConfigOrExit(secrets.env);
  const logger = createProcessLogger(config);
  if (secrets.created) logger.warn({ file: secrets.file }, 'generated development secrets (CA passphrase, data key, API tokens)');

  const [temporalHost, temporalPortText] = config.temporal.address.split(':');
  const temporalPort = Number(temporalPortText);
  const useDevMailbox = ['127.0.0.1', 'localhost'].includes(config.smtp.host) && process.env.CERTFLOW_DEV_MAILBOX !== 'false';
  // After a start that was killed, its servers got SIGTERM from the kernel (spawnTiedToParent): give them time to let go.
  const previous = previousStartMarker(config.dataDir);
  if (previous) logger.warn({ pid: previous }, 'the previous start did not stop cleanly; waiting for its servers to stop');
  const grace = { waitMs: previous ? PORT_GRACE_MS : 0 };
  await Promise.all([
    assertPortFree(temporalHost, temporalPort, 'CERTFLOW_TEMPORAL_ADDRESS', { ...grace, value: config.temporal.address }),
    assertPortFree(temporalHost, config.temporal.uiPort, 'CERTFLOW_TEMPORAL_UI_PORT', grace),
    ...assertListenPortsFree(config, grace),
    ...(useDevMailbox
      ? [assertPortFree('127.0.0.1', config.smtp.port, 'CERTFLOW_SMTP_PORT', grace), assertPortFree('127.0.0.1', config.mailbox.webPort, 'CERTFLOW_MAILBOX_WEB_PORT', grace)]
      : []),
  ]);

  writeStartMarker(config.dataDir);
  const lifecycle = createLifecycle(logger);
  lifecycle.onStop(async () => releaseStartMarker(config.dataDir));
  await lifecycle.startUp(async () => {
    // A dev server that dies is started again on the same data (the workflows wait in its SQLite file).
    const startTemporal = () =>
      startTemporalDevServer({
        binary: path.join(root, '.tools/temporal/temporal'),
        host: temporalHost,
        port: temporalPort,
        uiPort: config.temporal.uiPort,
        dbFile: config.temporal.devServerDbFile,
        namespace: config.temporal.namespace,
        logFile: path.join(config.dataDir, 'temporal.log'),
      });
    // CERTFLOW_DEV_RESTART_BACKOFF_MS: the first wait before a restart (default 1 s); a test holds an outage open with it.
    const backoffMs = Number(process.env.CERTFLOW_DEV_RESTART_BACKOFF_MS) || undefined;
    const policy = backoffMs ? { initialBackoffMs: backoffMs, maxBackoffMs: Math.max(backoffMs, 30_000), stableAfterMs: 60_000 } : undefined;
    const temporalServer = superviseChild('the Temporal dev server', await startTemporal(), startTemporal, logger, policy);
    lifecycle.onStop(() => temporalServer.stop());

    if (useDevMailbox) {
      const startMailbox = () => startDevMailbox({ smtpPort: config.smtp.port, webPort: config.mailbox.webPort });
      const mailbox = superviseChild('the dev mailbox', await startMailbox(), startMailbox, logger);
      lifecycle.onStop(() => mailbox.stop());
    }

    await startCertflowProcess(config, logger, lifecycle);

    const lines = [
      'certflow is up:',
      `  web and API      ${config.publicUrl}  (health: ${config.publicUrl}/healthz, support API: ${config.publicUrl}/api/v1, its docs: ${config.publicUrl}/api/v1/docs)`,
      `  enrollment       ${config.publicUrl}/enroll/kdanshinnet/login  ·  ${config.publicUrl}/enroll/nissay/login`,
      `  TLS client auth  ${config.tlsPublicUrl}/renew/kdanshinnet/  (portal gate: ${config.tlsPublicUrl}/portal/kdanshinnet/)`,
      `                   support console: ${config.tlsPublicUrl}/console/ (an operator's certificate; see "An agent's day")`,
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

/** The PID a previous start left under the data folder: that start did not stop cleanly. */
function previousStartMarker(dataDir: string): number | undefined {
  const file = path.join(dataDir, START_MARKER);
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) || undefined : undefined;
}

function writeStartMarker(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(path.join(dataDir, START_MARKER), String(process.pid));
}

function releaseStartMarker(dataDir: string): void {
  fs.rmSync(path.join(dataDir, START_MARKER), { force: true });
}

main().catch((err: Error) => {
  console.error(`certflow cannot start: ${err.message}`);
  process.exit(1);
});
