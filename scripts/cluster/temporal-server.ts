// The Temporal Server built by scripts/install-temporal-server.sh, on PostgreSQL persistence and visibility: schema
// set up on the first start, the namespace and certflow's search attributes ensured on every start.
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { createDb } from '../../infra/db';
import { isRunning, spawnTiedToParent, stopChild } from '../../worker/child-process';
import { assertPortFree, waitForPort } from '../../worker/temporal-dev-server';
import { ensureNamespace, ensureSearchAttributes, waitForNamespaceReady } from '../../worker/temporal-namespace';

export const TEMPORAL_SERVER_VERSION = 'v1.32.1';
/** Ports after the frontend's the server's other services take: frontend HTTP, then gRPC and membership of each. */
export const TEMPORAL_INTERNAL_PORTS = 8;
/** The server keeps its services' ports in cluster_membership as a smallint: one above this and it dies at start. */
export const TEMPORAL_HIGHEST_PORT = 32767;
const DATABASES = { temporal: 'temporal', visibility: 'temporal_visibility' } as const;

export interface TemporalServerOptions {
  /** The installed server: bin/server, bin/sql and schema/ (.tools/temporal-server). */
  home: string;
  /** Holds the generated config and the server's log. */
  dir: string;
  /** Frontend gRPC port; the TEMPORAL_INTERNAL_PORTS after it serve the other services. */
  port: number;
  postgres: { host: string; port: number; user: string };
  namespace: string;
}

export interface TemporalServer {
  /** host:port of the frontend, for CERTFLOW_TEMPORAL_ADDRESS. */
  address: string;
  logFile: string;
  /** Starts the server again (a no-op while it runs) and waits until the namespace is usable. */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after 15 s; resolves once it has exited. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

export function temporalServerBinaries(home: string): { server: string; sql: string; schema: string } {
  const bin = { server: path.join(home, 'bin/server'), sql: path.join(home, 'bin/sql'), schema: path.join(home, 'schema/postgresql/v12') };
  for (const file of [bin.server, bin.sql, bin.schema]) {
    if (!fs.existsSync(file)) throw new Error(`the Temporal Server ${TEMPORAL_SERVER_VERSION} is not installed (${file} is missing): run scripts/install-temporal-server.sh (scripts/setup.sh --cluster does it)`);
  }
  return bin;
}

export async function startTemporalServer(o: TemporalServerOptions): Promise<TemporalServer> {
  const bin = temporalServerBinaries(o.home);
  if (o.port + TEMPORAL_INTERNAL_PORTS > TEMPORAL_HIGHEST_PORT) {
    throw new Error(`the Temporal Server's ports ${o.port}..${o.port + TEMPORAL_INTERNAL_PORTS} must stay at or below ${TEMPORAL_HIGHEST_PORT} (its membership table stores them as a smallint)`);
  }
  fs.mkdirSync(o.dir, { recursive: true });
  const configFile = path.join(o.dir, 'temporal.yaml');
  const logFile = path.join(o.dir, 'temporal.log');
  fs.writeFileSync(configFile, serverConfig(o));
  await setUpSchema(bin, o);

  let child: ChildProcess | undefined;

  const launch = async () => {
    // A server left running on this port (an earlier run killed) would pass for this one.
    await assertPortFree(HOST, o.port, 'the Temporal Server port');
    const log = fs.openSync(logFile, 'a');
    const started = spawnTiedToParent(bin.server, ['--config-file', configFile, '--allow-no-auth', 'start'], { cwd: o.dir, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    child = started;
    const exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    try {
      const up = await Promise.race([waitForPort(HOST, o.port, 60_000).then(() => true), exited.then(() => false)]);
      if (!up) throw new Error(`the Temporal Server exited during start-up; last lines of ${logFile}:\n${tail(logFile)}`);
      const connection = await connectWhenServing(`${HOST}:${o.port}`, exited, logFile);
      try {
        await ensureNamespace(connection, o.namespace);
        await ensureSearchAttributes(connection, o.namespace);
        await waitForNamespaceReady(connection, o.namespace);
      } finally {
        await connection.close();
      }
    } catch (err) {
      await stop();
      throw err;
    }
  };
  const stop = () => stopChild(child, 'SIGTERM', 15_000);

  await launch();
  return {
    address: `${HOST}:${o.port}`,
    logFile,
    async start() {
      if (!isRunning(child)) await launch();
    },
    stop,
  };
}

/** setup-schema on a database without Temporal's tables (the first start), then update-schema, a no-op when current. */
async function setUpSchema(bin: { sql: string; schema: string }, o: TemporalServerOptions): Promise<void> {
  for (const [schema, database] of Object.entries(DATABASES)) {
    const sql = (...args: string[]) => {
      const connection = ['--plugin', 'postgres12', '--ep', o.postgres.host, '-p', String(o.postgres.port), '-u', o.postgres.user, '--db', database];
      const run = spawnSync(bin.sql, [...connection, ...args], { encoding: 'utf8' });
      if (run.status !== 0) {
        const output = (run.stderr || run.stdout || run.error?.message || '').trim().split('\n').slice(-5).join('\n');
        throw new Error(`Temporal schema tool: \`sql --db ${database} ${args.join(' ')}\` failed: ${output}`);
      }
    };
    if (!(await hasSchemaVersion(o, database))) sql('setup-schema', '-v', '0.0');
    sql('update-schema', '-d', path.join(bin.schema, schema, 'versioned'));
  }
}

/** setup-schema creates schema_version: a database without it has never been set up. */
async function hasSchemaVersion(o: TemporalServerOptions, database: string): Promise<boolean> {
  const db = createDb({ client: 'pg', connection: `postgres://${o.postgres.user}@${o.postgres.host}:${o.postgres.port}/${database}` });
  try {
    const { rows } = await db.raw<{ rows: Array<{ table: string | null }> }>("select to_regclass('schema_version')::text as table");
    return rows[0]?.table != null;
  } finally {
    await db.destroy();
  }
}

function serverConfig(o: TemporalServerOptions): string {
  const p = (offset: number) => o.port + offset;
  const datastore = (database: string, maxConns: number) => `
      sql:
        pluginName: "postgres12"
        databaseName: "${database}"
        connectAddr: "${o.postgres.host}:${o.postgres.port}"
        connectProtocol: "tcp"
        user: "${o.postgres.user}"
        password: ""
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: "1h"`;
  const service = (grpc: number, membership: number, extra = '') => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${extra}`;
  // Shaped like the module's config/development-postgres12.yaml; generated on each start, so the ports follow the settings.
  return `# Generated by scripts/cluster/temporal-server.ts on each start; edits are lost.
log:
  stdout: true
  level: warn

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:${datastore(DATABASES.temporal, 20)}
    postgres-visibility:${datastore(DATABASES.visibility, 4)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "${HOST}"

services:
  frontend:${service(o.port, p(2), `\n      httpPort: ${p(1)}`)}
  history:${service(p(3), p(4))}
  matching:${service(p(5), p(6))}
  worker:${service(p(7), p(8))}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "${HOST}:${o.port}"

dcRedirectionPolicy:
  policy: "noop"
`;
}

/**
 * A connection once the frontend answers: its port opens before it serves, and on a loaded machine (or after a
 * restart, while membership settles) that can take longer than one Connection.connect's 10 s.
 */
async function connectWhenServing(address: string, exited: Promise<void>, logFile: string, timeoutMs = 120_000): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    try {
      return await Connection.connect({ address, connectTimeout: '10 seconds' });
    } catch (err) {
      if (gone) throw new Error(`the Temporal Server exited during start-up; last lines of ${logFile}:\n${tail(logFile)}`);
      if (Date.now() > deadline) {
        throw new Error(`the Temporal Server on ${address} did not serve within ${timeoutMs / 1000} s (${(err as Error).message}); last lines of ${logFile}:\n${tail(logFile)}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function tail(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n') : '(no log)';
}
