// The production shape on one machine: PostgreSQL, the Temporal Server on it, worker and web processes of certflow
// (worker/serve.ts), and nginx in front. `npm run start:cluster` runs it; tests drive it through the handle it returns.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ensureTlsServerCertificate } from '../../api/tls/server-certificate';
import { createRuntime } from '../../worker/composition';
import { loadConfig, type Config } from '../../worker/config';
import { startDevMailbox } from '../../worker/dev-mailbox';
import { withDevSecrets } from '../../worker/dev-secrets';
import { databaseUrl, ensureDatabases, startPostgres } from '../../worker/postgres-cluster';
import { isRunning, npmScriptNodeArgs, spawnTiedToParent, stopChild } from '../../worker/child-process';
import { assertPortFree } from '../../worker/temporal-dev-server';
import { startNginx } from './nginx';
import { startTemporalServer, TEMPORAL_HIGHEST_PORT, TEMPORAL_INTERNAL_PORTS } from './temporal-server';

const root = path.resolve(__dirname, '../..');

/** Every port the cluster takes, each with the setting that moves it; none collides with `npm start`'s. */
export const CLUSTER_PORT_SETTINGS = {
  http: ['CERTFLOW_CLUSTER_HTTP_PORT', 8080, "nginx's HTTP address"],
  tls: ['CERTFLOW_CLUSTER_TLS_PORT', 8443, "nginx's TLS passthrough"],
  postgres: ['CERTFLOW_CLUSTER_POSTGRES_PORT', 55432, 'PostgreSQL'],
  temporal: ['CERTFLOW_CLUSTER_TEMPORAL_PORT', 7243, `the Temporal Server's frontend; its other services take the ${TEMPORAL_INTERNAL_PORTS} ports after it (all ≤ ${TEMPORAL_HIGHEST_PORT})`],
  web: ['CERTFLOW_CLUSTER_WEB_PORT', 8100, 'web process n listens on HTTP base+2(n-1) and TLS base+2(n-1)+1'],
  ops: ['CERTFLOW_CLUSTER_OPS_PORT', 9470, 'process n (workers first) serves /healthz /readyz /metrics on base+n-1'],
  mailboxSmtp: ['CERTFLOW_CLUSTER_MAILBOX_SMTP_PORT', 2525, "MailDev's SMTP port"],
  mailboxWeb: ['CERTFLOW_CLUSTER_MAILBOX_WEB_PORT', 8025, "MailDev's web page"],
} as const;

export type ClusterPorts = { [K in keyof typeof CLUSTER_PORT_SETTINGS]: number };

export interface ClusterOptions {
  /** Persistent state: postgres/, temporal/, certflow/ (CA, data), tls/, logs/, nginx/, dev-secrets.json. Default var/cluster. */
  dir?: string;
  ports?: Partial<ClusterPorts>;
  /** Default 2 each. */
  workers?: number;
  webs?: number;
  /** false: mail goes to the relay CERTFLOW_SMTP_* of `env` names; default: MailDev. */
  mailbox?: boolean;
  /** The certflow processes' environment before the cluster's settings; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where the orchestrator says what happens after start-up (a process exiting); default stderr. */
  log?: (line: string) => void;
}

export interface ClusterProcess {
  name: string;
  role: 'web' | 'worker';
  /** The current process's pid (a restart changes it). */
  readonly pid: number;
  ports: { http?: number; tls?: number; ops: number };
  logFile: string;
  running(): boolean;
  /** Sends a signal, SIGKILL by default; the orchestrator logs the exit and does not restart it. */
  kill(signal?: NodeJS.Signals): void;
  /** Stops it (SIGTERM) if running, starts it again, resolves once it is up. */
  restart(): Promise<void>;
}

export interface Cluster {
  dir: string;
  urls: { http: string; tls: string; temporal: string; postgres: string; database: string; mailbox?: string; mailboxSmtp?: string };
  processes: ClusterProcess[];
  temporal: { address: string; stop(): Promise<void>; start(): Promise<void> };
  postgres: { url: string; stop(): Promise<void>; start(): Promise<void> };
  /** The environment every certflow process shares (secrets included), and its configuration. */
  env: Record<string, string>;
  config: Config;
  secretsFile: string;
  /** The lines `npm run start:cluster` prints. */
  describe(): string[];
  /** Stops everything, front to back: nginx, web, workers, mailbox, Temporal, PostgreSQL. */
  stop(): Promise<void>;
}

/** Cluster options from CERTFLOW_CLUSTER_* (validated, each bad value named); the rest of env goes to the processes. */
export function clusterOptionsFromEnv(env: NodeJS.ProcessEnv): ClusterOptions {
  const port = z.coerce.number().int().min(1).max(65535);
  const count = z.coerce.number().int().min(1).max(16);
  const schema = z.object({
    CERTFLOW_CLUSTER_DIR: z.string().min(1).optional(),
    CERTFLOW_CLUSTER_WORKERS: count.default(2),
    CERTFLOW_CLUSTER_WEBS: count.default(2),
    ...Object.fromEntries(Object.values(CLUSTER_PORT_SETTINGS).map(([name, fallback]) => [name, port.default(fallback)])),
    CERTFLOW_CLUSTER_TEMPORAL_PORT: port
      .max(TEMPORAL_HIGHEST_PORT - TEMPORAL_INTERNAL_PORTS, `must leave its ${TEMPORAL_INTERNAL_PORTS} service ports at or below ${TEMPORAL_HIGHEST_PORT} (the Temporal Server stores them as a smallint)`)
      .default(CLUSTER_PORT_SETTINGS.temporal[1]),
  });
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid cluster settings:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  const e = parsed.data as Record<string, unknown>;
  return {
    dir: e.CERTFLOW_CLUSTER_DIR as string | undefined,
    workers: e.CERTFLOW_CLUSTER_WORKERS as number,
    webs: e.CERTFLOW_CLUSTER_WEBS as number,
    ports: Object.fromEntries(Object.entries(CLUSTER_PORT_SETTINGS).map(([key, [name]]) => [key, e[name] as number])) as ClusterPorts,
    mailbox: !env.CERTFLOW_SMTP_HOST,
    env,
  };
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const dir = path.resolve(options.dir ?? path.join(root, 'var/cluster'));
  const ports: ClusterPorts = {
    ...(Object.fromEntries(Object.entries(CLUSTER_PORT_SETTINGS).map(([key, [, fallback]]) => [key, fallback])) as ClusterPorts),
    ...options.ports,
  };
  const log = options.log ?? ((line: string) => console.error(`[cluster] ${line}`));
  const useMailbox = options.mailbox ?? true;
  const workers = Array.from({ length: options.workers ?? 2 }, (_, i) => ({ name: `worker-${i + 1}`, role: 'worker' as const, ports: {} }));
  const webs = Array.from({ length: options.webs ?? 2 }, (_, i) => ({
    name: `web-${i + 1}`,
    role: 'web' as const,
    ports: { http: ports.web + 2 * i, tls: ports.web + 2 * i + 1 },
  }));
  const layout = [...workers, ...webs].map((p, n) => ({ ...p, ports: { ...p.ports, ops: ports.ops + n } }));

  await assertPortsFree(ports, layout, useMailbox);
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });

  const began = Date.now();
  const progress = (what: string) => log(`${what} (${((Date.now() - began) / 1000).toFixed(1)} s)`);
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch((err: Error) => log(`error while stopping: ${err.message}`));
  };
  try {
    const postgres = await startPostgres({ dir: path.join(dir, 'postgres'), port: ports.postgres });
    stops.push(() => postgres.stop());
    await ensureDatabases(postgres.url, ['temporal', 'temporal_visibility', 'certflow']);
    progress(`PostgreSQL up on ${postgres.port}`);

    const publicUrl = `http://localhost:${ports.http}`;
    const tlsPublicUrl = `https://localhost:${ports.tls}`;
    const tlsDir = path.join(dir, 'tls');
    const secrets = withDevSecrets({ ...(options.env ?? process.env) }, dir);
    const env: Record<string, string> = {
      ...(Object.fromEntries(Object.entries(secrets.env).filter(([, v]) => v !== undefined)) as Record<string, string>),
      CERTFLOW_DATA_DIR: path.join(dir, 'certflow'),
      CERTFLOW_DB_CLIENT: 'pg',
      CERTFLOW_DB_URL: databaseUrl(postgres.url, 'certflow'),
      CERTFLOW_TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
      CERTFLOW_PUBLIC_URL: publicUrl,
      CERTFLOW_TLS_PUBLIC_URL: tlsPublicUrl,
      CERTFLOW_TLS_CERT_FILE: path.join(tlsDir, 'server-cert.pem'),
      CERTFLOW_TLS_KEY_FILE: path.join(tlsDir, 'server-key.pem'),
      ...(useMailbox && { CERTFLOW_SMTP_HOST: '127.0.0.1', CERTFLOW_SMTP_PORT: String(ports.mailboxSmtp), CERTFLOW_SMTP_SECURE: 'false' }),
    };
    const config = loadConfig(env);

    const [temporal, mailbox] = await Promise.all([
      startTemporalServer({
        home: path.join(root, '.tools/temporal-server'),
        dir: path.join(dir, 'temporal'),
        port: ports.temporal,
        postgres: { host: '127.0.0.1', port: postgres.port, user: 'postgres' },
        namespace: config.temporal.namespace,
      }).then((server) => (stops.push(() => server.stop()), progress(`Temporal Server up on ${server.address}`), server)),
      useMailbox
        ? startDevMailbox({ smtpPort: ports.mailboxSmtp, webPort: ports.mailboxWeb }).then((m) => (stops.push(() => m.stop()), m))
        : undefined,
      // One certificate for every web process, made before any starts; nginx passes TLS through to them.
      ensureTlsServerCertificate(tlsDir),
      // Migrations and the CAs once, before the processes start side by side.
      createRuntime(config).then((runtime) => runtime.close()).then(() => progress('database migrated, CAs ready')),
    ]);

    const processes = layout.map((p) => managedProcess({ ...p, env, logFile: path.join(dir, 'logs', `${p.name}.log`), log }));
    stops.push(() => Promise.all(processes.filter((p) => p.role === 'worker').map((p) => p.stop())));
    stops.push(() => Promise.all(processes.filter((p) => p.role === 'web').map((p) => p.stop())));
    await Promise.all(processes.map((p) => p.start().then(() => progress(`${p.name} up`))));

    const nginx = await startNginx({
      dir: path.join(dir, 'nginx'),
      host: '127.0.0.1',
      httpPort: ports.http,
      tlsPort: ports.tls,
      upstreams: layout.filter((p) => p.role === 'web').map((p) => ({ httpPort: p.ports.http!, tlsPort: p.ports.tls! })),
    });
    stops.push(() => nginx.stop());

    const urls = {
      http: publicUrl,
      tls: tlsPublicUrl,
      temporal: temporal.address,
      postgres: postgres.url,
      database: env.CERTFLOW_DB_URL,
      mailbox: mailbox?.webUrl,
      mailboxSmtp: mailbox && `127.0.0.1:${mailbox.smtpPort}`,
    };
    const rel = (file: string) => path.relative(process.cwd(), file) || '.';
    return {
      dir,
      urls,
      processes,
      temporal,
      postgres,
      env,
      config,
      secretsFile: secrets.file,
      describe: () => [
        `certflow cluster is up (state in ${rel(dir)}):`,
        `  web and API      ${publicUrl}  (nginx round-robin over the web processes; enrollment ${publicUrl}/enroll/kdanshinnet/login)`,
        `  TLS client auth  ${tlsPublicUrl}/renew/kdanshinnet/  (nginx passes TLS through; client authentication ends at certflow)`,
        `  Temporal Server  ${temporal.address}  (namespace ${config.temporal.namespace}, PostgreSQL persistence and visibility; log ${rel(temporal.logFile)})`,
        `  PostgreSQL       ${postgres.url}  (databases temporal, temporal_visibility, certflow; data ${rel(path.join(dir, 'postgres'))})`,
        ...processes.map(
          (p) =>
            `  ${p.name.padEnd(16)} ${p.role.padEnd(6)} pid ${String(p.pid).padEnd(7)} ${p.ports.http ? `http :${p.ports.http}  tls :${p.ports.tls}  ` : ''}ops :${p.ports.ops}  log ${rel(p.logFile)}`,
        ),
        urls.mailbox ? `  mailbox          ${urls.mailbox}  (SMTP ${urls.mailboxSmtp})` : `  mail relay       ${config.smtp.host}:${config.smtp.port}`,
        `  nginx            ${rel(nginx.configFile)}`,
        `  secrets          ${rel(secrets.file)}`,
      ],
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function assertPortsFree(ports: ClusterPorts, layout: Array<{ name: string; ports: { http?: number; tls?: number; ops: number } }>, useMailbox: boolean): Promise<void> {
  const setting = (key: keyof ClusterPorts) => CLUSTER_PORT_SETTINGS[key][0];
  const checks: Array<[number, string]> = [
    [ports.http, setting('http')],
    [ports.tls, setting('tls')],
    [ports.postgres, setting('postgres')],
    ...Array.from({ length: TEMPORAL_INTERNAL_PORTS + 1 }, (_, i): [number, string] => [ports.temporal + i, `${setting('temporal')} (+${i})`]),
    ...layout.flatMap((p) => [
      ...(p.ports.http ? [[p.ports.http, `${setting('web')} (${p.name} HTTP)`] as [number, string], [p.ports.tls!, `${setting('web')} (${p.name} TLS)`] as [number, string]] : []),
      [p.ports.ops, `${setting('ops')} (${p.name})`] as [number, string],
      ...(p.ports.http ? [] : [[p.ports.ops + TEMPORAL_METRICS_OFFSET, `${setting('ops')}+${TEMPORAL_METRICS_OFFSET} (${p.name}'s Temporal SDK metrics)`] as [number, string]]),
    ]),
    ...(useMailbox ? ([[ports.mailboxSmtp, setting('mailboxSmtp')], [ports.mailboxWeb, setting('mailboxWeb')]] as Array<[number, string]>) : []),
  ];
  const taken = new Map<number, string>();
  for (const [port, name] of checks) {
    if (taken.has(port)) throw new Error(`${name}: port ${port} is also ${taken.get(port)}'s; move one of them`);
    taken.set(port, name);
  }
  await Promise.all(checks.map(([port, name]) => assertPortFree('127.0.0.1', port, name)));
}

interface ManagedProcess extends ClusterProcess {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** One certflow process (worker/serve.ts) with its role and ports; its output goes to its log file. */
/** A worker's Temporal SDK metrics listen this far above its ops port. */
export const TEMPORAL_METRICS_OFFSET = 100;

function managedProcess(o: {
  name: string;
  role: 'web' | 'worker';
  ports: { http?: number; tls?: number; ops: number };
  env: Record<string, string>;
  logFile: string;
  log: (line: string) => void;
}): ManagedProcess {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopping = false;
  const running = () => isRunning(child);

  const start = async () => {
    stopping = false;
    const out = fs.createWriteStream(o.logFile, { flags: 'a' });
    // As `npm run serve` runs it (its V8 heap limit, CERTFLOW_HEAP_MB): node's own pid, so kill -9 reaches certflow.
    const started = spawnTiedToParent(process.execPath, npmScriptNodeArgs('serve', o.env), {
      cwd: root,
      env: {
        ...o.env,
        CERTFLOW_ROLE: o.role,
        CERTFLOW_PROCESS_NAME: o.name,
        CERTFLOW_OPS_PORT: String(o.ports.ops),
        // Clients reach web processes through the local nginx: its X-Forwarded-For names them (the login rate limit).
        ...(o.ports.http && { CERTFLOW_HTTP_PORT: String(o.ports.http), CERTFLOW_TLS_PORT: String(o.ports.tls), CERTFLOW_TRUST_PROXY: 'loopback' }),
        // A worker's SDK metrics (polls, task slots, latencies) beside its ops port.
        ...(o.role === 'worker' && { CERTFLOW_TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${o.ports.ops + TEMPORAL_METRICS_OFFSET}` }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        out.write(chunk);
        if (output.length < 20_000) output += chunk.toString();
        if (output.includes('certflow is up')) resolve();
      };
      started.stdout!.on('data', onData);
      started.stderr!.on('data', onData);
      started.once('exit', (code, signal) =>
        reject(new Error(`${o.name} exited during start-up (${code ?? signal}); last lines of ${o.logFile}:\n${output.trim().split('\n').slice(-15).join('\n')}`)),
      );
    });
    exited = new Promise((resolve) =>
      started.once('exit', (code, signal) => {
        out.end();
        if (!stopping) o.log(`${o.name} (${o.role}, pid ${started.pid}) exited with ${signal ?? `code ${code}`}; not restarted (see ${o.logFile})`);
        resolve();
      }),
    );
    const timeout = setTimeout(() => started.kill('SIGKILL'), 180_000);
    try {
      await ready;
    } finally {
      clearTimeout(timeout);
    }
  };

  const stop = async () => {
    stopping = true;
    const last = child;
    const wasRunning = isRunning(last);
    await stopChild(last, 'SIGTERM', 20_000);
    // The exit handler has written the log's end.
    await exited;
    if (wasRunning && last?.signalCode === 'SIGKILL') o.log(`${o.name} (pid ${last.pid}) did not stop within 20 s of SIGTERM; killed`);
  };

  return {
    name: o.name,
    role: o.role,
    ports: o.ports,
    logFile: o.logFile,
    get pid() {
      return child?.pid ?? 0;
    },
    running,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => void child?.kill(signal),
    async restart() {
      await stop();
      await start();
    },
    start,
    stop,
  };
}
