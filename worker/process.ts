// What every certflow process does, whatever starts it (`npm start`, `npm run serve`): its role's parts — the HTTP
// and TLS listeners, the Temporal worker, or both — over one Temporal client and one worker connection, and an
// orderly stop on SIGINT/SIGTERM that lets in-flight requests and activities finish.
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import https from 'node:https';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ensureTlsServerCertificate, type TlsServerCertificate } from '../api/tls/server-certificate';
import { createLogger, type Logger } from '../infra/logger';
import { startOpsServer } from '../api/ops';
import { createHttpSide, createRuntime, keepIdleConnections, readinessChecks } from './composition';
import { ConfigError, loadConfig, type Config } from './config';
import { assertPortFree } from './temporal-dev-server';
import { installTemporalRuntime } from './temporal-runtime';
import { createCertflowWorker } from './worker';

/** How long a stopping HTTP listener waits for in-flight requests before it cuts their connections. */
const DRAIN_MS = 5_000;

/**
 * The data folder holds keys, secrets and databases: only certflow's user may read it. From here on every file this
 * process and its children create is 0600 (umask), and what an earlier version left readable is closed now.
 */
export function closeDataDir(dataDir: string): void {
  process.umask(0o077);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const close = (dir: string) => {
    fs.chmodSync(dir, 0o700);
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) close(full);
      else if (entry.isFile()) fs.chmodSync(full, 0o600);
    }
  };
  close(dataDir);
}

/** The typed configuration, or a message naming each bad or missing value and exit code 1. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`certflow cannot start: ${err.message}`);
    process.exit(1);
  }
}

export function createProcessLogger(config: Config): Logger {
  const logger = createLogger(config.logLevel);
  return config.processName ? logger.child({ process: config.processName, role: config.role }) : logger;
}

export interface Lifecycle {
  /** Registers a stop; stops run in reverse order of registration. */
  onStop(stop: () => Promise<unknown>): void;
  /** Runs every stop once, then exits with `code`. */
  shutdown(code: number): Promise<void>;
  /** Runs the start-up; a failure is printed as "certflow cannot start: …" and stops what had started. */
  startUp(body: () => Promise<void>): Promise<void>;
}

/** One per process: SIGINT and SIGTERM stop everything registered, in reverse order, then exit 0. */
export function createLifecycle(logger: Logger): Lifecycle {
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
  return {
    onStop: (stop) => void stops.push(stop),
    shutdown,
    async startUp(body) {
      try {
        await body();
      } catch (err) {
        console.error(`certflow cannot start: ${(err as Error).message}`);
        await shutdown(1);
      }
    },
  };
}

/** Checks, naming the setting, that the ports this process's role listens on are free. */
export function assertListenPortsFree(config: Config, options: { waitMs?: number } = {}): Promise<void>[] {
  if (config.role === 'worker') return [];
  return [
    assertPortFree(config.http.host, config.http.port, 'CERTFLOW_HTTP_PORT', options),
    assertPortFree(config.http.host, config.http.tlsPort, 'CERTFLOW_TLS_PORT', options),
  ];
}

/** The connection settings for Connection.connect and NativeConnection.connect, TLS files read and named on failure. */
export function temporalConnectionOptions(config: Config): { address: string; tls?: TLSConfig } {
  const t = config.temporal.tls;
  if (!t) return { address: config.temporal.address };
  const tls: TLSConfig = {
    serverNameOverride: t.serverName,
    serverRootCACertificate: t.caFile ? readSetting(t.caFile, 'CERTFLOW_TEMPORAL_TLS_CA_FILE') : undefined,
    clientCertPair:
      t.clientCertFile && t.clientKeyFile
        ? { crt: readSetting(t.clientCertFile, 'CERTFLOW_TEMPORAL_TLS_CERT_FILE'), key: readSetting(t.clientKeyFile, 'CERTFLOW_TEMPORAL_TLS_KEY_FILE') }
        : undefined,
  };
  return { address: config.temporal.address, tls };
}

/** The TLS listener's certificate: the configured files, else the one generated once under the data folder. */
export async function loadServerCertificate(config: Config): Promise<TlsServerCertificate> {
  const files = config.http.serverCertificateFiles;
  if (!files) return ensureTlsServerCertificate(config.http.serverCertificateDir);
  return {
    certificatePem: readSetting(files.certFile, 'CERTFLOW_TLS_CERT_FILE').toString('utf8'),
    keyPem: readSetting(files.keyFile, 'CERTFLOW_TLS_KEY_FILE').toString('utf8'),
  };
}

function readSetting(file: string, setting: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`${setting}=${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * Starts this process's role on `config`: the runtime (database, CA, mail), then the Temporal worker (roles worker
 * and all) and the HTTP and TLS listeners (roles web and all). Everything started is registered with `lifecycle`.
 */
export async function startCertflowProcess(config: Config, logger: Logger, lifecycle: Lifecycle): Promise<void> {
  const web = config.role !== 'worker';
  // The configured files first: a wrong path stops start-up before anything connects.
  const connectionOptions = temporalConnectionOptions(config);
  const serverCertificate = web ? await loadServerCertificate(config) : undefined;
  const runtime = await createRuntime(config);
  lifecycle.onStop(() => runtime.close());

  const connection = web ? await Connection.connect(connectionOptions) : undefined;
  if (connection) lifecycle.onStop(() => connection.close());

  if (config.role !== 'web') {
    // Before the first NativeConnection: the SDK's logs into ours, and its own worker metrics when asked for.
    installTemporalRuntime({ metricsAddress: config.ops.temporalMetricsAddress, logger });
    const workerConnection = await NativeConnection.connect(connectionOptions);
    lifecycle.onStop(() => workerConnection.close());
    const worker = await createCertflowWorker({
      connection: workerConnection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      activities: runtime.activities,
      maxCachedWorkflows: config.temporal.workflowCacheSize,
      mailMaxPerSecond: config.smtp.maxMailsPerSecond,
    });
    const workerRun = worker.run();
    // Only processes running activities refill the key pool; runtime.close() stops it.
    runtime.keyPool.start(logger);
    lifecycle.onStop(async () => {
      worker.shutdown();
      await workerRun;
    });
    workerRun.catch((err) => {
      logger.fatal({ err }, 'the worker stopped');
      void lifecycle.shutdown(1);
    });
    if (!web) {
      // No HTTP side here: /healthz, /readyz and /metrics get a listener of their own.
      const ops = await startOpsServer({
        host: config.http.host,
        port: config.ops.port,
        logger,
        registry: runtime.metrics.registry,
        checks: readinessChecks(runtime, workerConnection),
      });
      lifecycle.onStop(() => ops.close());
    }
  }

  if (connection) {
    const { app, tlsServer } = await createHttpSide(runtime, {
      client: new Client({ connection, namespace: config.temporal.namespace }),
      connection,
      logger,
      serverCertificate,
      // Only workers send mail: an SMTP outage must not take a web-only process out of the load balancer.
      ...(config.role === 'web' ? { readiness: pick(readinessChecks(runtime, connection), 'temporal', 'database') } : {}),
    });
    // The web/API listener: HTTPS with the TLS listener's certificate when configured, else plain HTTP (loopback or behind a TLS proxy).
    const webServer = keepIdleConnections(
      config.http.tls
        ? https.createServer({ key: serverCertificate!.keyPem, cert: serverCertificate!.certificatePem, minVersion: 'TLSv1.2' }, app)
        : http.createServer(app),
    );
    for (const [server, port] of [[webServer, config.http.port], [tlsServer!, config.http.tlsPort]] as const) {
      await new Promise<void>((resolve) => server.listen(port, config.http.host, resolve));
      lifecycle.onStop(() => closeDraining(server));
    }
  }
}

/** Stops accepting, lets requests in flight finish for up to DRAIN_MS, then cuts what is left. */
function closeDraining(server: http.Server | https.Server): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function pick<T extends object, K extends keyof T>(from: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, from[k]])) as Pick<T, K>;
}
