// A PostgreSQL server of our own, run from Debian's binaries as a child process: the cluster's persistent one
// (`npm run start:cluster`) and the tests' throwaway one. initdb on first use, trust auth on 127.0.0.1 only.
import { spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createDb } from '../infra/db';
import { freePort } from '../infra/ports';
import { isRunning, spawnTiedToParent, stopChild } from './child-process';

export interface PostgresOptions {
  /** Holds data/ (initdb'd when it has no cluster yet), postgres.log and the server's socket. */
  dir: string;
  /** 0 picks a free port. */
  port: number;
  /** A throwaway cluster skips fsync and full-page writes: fast, and lost on a crash. */
  throwaway?: boolean;
  maxConnections?: number;
}

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  /** Starts the server again on the same port and data; a no-op while it runs. */
  start(): Promise<void>;
  /** Fast shutdown (sessions cut, data flushed); resolves once the server has exited. */
  stop(): Promise<void>;
  /** Immediate shutdown, synchronously: for exit hooks. */
  stopNow(): void;
}

export const POSTGRES_INSTALL_HINT = "install Debian's postgresql package (scripts/setup.sh --test or --cluster does it)";

/** initdb, postgres, pg_ctl and pg_dump from PATH, else from the newest /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH). */
export function findPostgresBinaries(): { initdb: string; postgres: string; pgCtl: string; pgDump: string } {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const debianRoot = '/usr/lib/postgresql';
  if (fs.existsSync(debianRoot)) {
    const versions = fs.readdirSync(debianRoot).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((v) => path.join(debianRoot, v, 'bin')));
  }
  const bin = dirs.find((d) => ['initdb', 'postgres', 'pg_ctl'].every((b) => fs.existsSync(path.join(d, b))));
  if (!bin) throw new Error(`PostgreSQL: initdb/postgres/pg_ctl not found on PATH or under ${debianRoot}/*/bin; ${POSTGRES_INSTALL_HINT}`);
  // pg_dump beside the real initdb: PATH may hold only symlinks to some of them (e.g. in /usr/local/bin).
  const pgDump = path.join(path.dirname(fs.realpathSync(path.join(bin, 'initdb'))), 'pg_dump');
  return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres'), pgCtl: path.join(bin, 'pg_ctl'), pgDump };
}

/** PostgreSQL refuses to run as root: as root, the cluster belongs to `postgres` (or `nobody`). */
function clusterOwner(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const id = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    if (id.status !== 0) continue;
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    return { name, uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error('PostgreSQL: running as root and neither the postgres nor the nobody user exists to own the cluster');
}

/** Starts (initdb'ing first when needed) the server in `o.dir`; a server an earlier run left on this data is stopped first. */
export async function startPostgres(o: PostgresOptions): Promise<PostgresServer> {
  const bin = findPostgresBinaries();
  const owner = clusterOwner();
  const dir = path.resolve(o.dir);
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  // The owner's cwd is the cluster folder: PostgreSQL's tools cannot work from a folder they cannot read.
  const asOwner: SpawnSyncOptions = { cwd: dir, env: { ...process.env, LC_ALL: 'C' }, ...(owner && { uid: owner.uid, gid: owner.gid }) };
  const stopLeftover = (mode: 'fast' | 'immediate') => {
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) spawnSync(bin.pgCtl, ['-D', dataDir, '-m', mode, '-w', 'stop'], { ...asOwner, stdio: 'ignore' });
  };

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const init = spawnSync(bin.initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', ...(o.throwaway ? ['--no-sync'] : [])], {
      ...asOwner,
      encoding: 'utf8',
    });
    if (init.status !== 0) {
      const reach = owner ? ` (the ${owner.name} user that owns the cluster must be able to reach ${dir}: every folder above it needs o+x)` : '';
      throw new Error(`PostgreSQL: initdb in ${dataDir} failed${reach}: ${(init.stderr || init.error?.message || '').trim()}`);
    }
  } else {
    stopLeftover('fast');
  }

  let child: ChildProcess | undefined;
  let port = o.port;

  const launch = async (): Promise<void> => {
    const log = fs.openSync(logFile, 'a');
    if (owner) fs.fchownSync(log, owner.uid, owner.gid);
    const args = [
      '-D', dataDir,
      '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${dir}`,
      '-c', `max_connections=${o.maxConnections ?? 200}`,
      ...(o.throwaway ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ];
    const started = spawnTiedToParent(bin.postgres, args, { ...asOwner, stdio: ['ignore', log, log] } as Parameters<typeof spawnTiedToParent>[2]);
    fs.closeSync(log);
    child = started;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!isRunning(started)) {
        throw new Error(`PostgreSQL exited during start-up (port ${port}); last lines of ${logFile}:\n${tail(logFile)}`);
      }
      if (acceptsConnections(dataDir, started.pid!)) return;
      if (Date.now() > deadline) {
        await stopChild(started, 'SIGQUIT');
        throw new Error(`PostgreSQL did not answer on 127.0.0.1:${port} within 60 s; last lines of ${logFile}:\n${tail(logFile)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const url = () => `postgres://postgres@127.0.0.1:${port}/postgres`;

  if (port) {
    await launch();
  } else {
    // A free port can be taken between probing and listening; try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await launch();
        break;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
  }

  return {
    get url() {
      return url();
    },
    get port() {
      return port;
    },
    dir,
    logFile,
    async start() {
      if (!isRunning(child)) await launch();
    },
    // SIGINT: PostgreSQL's fast shutdown; a minute later, SIGKILL.
    stop: () => stopChild(child, 'SIGINT', 60_000),
    stopNow() {
      if (isRunning(child)) child.kill('SIGQUIT');
      stopLeftover('immediate');
    },
  };
}

/** Creates each database that does not exist yet. */
export async function ensureDatabases(url: string, names: string[]): Promise<void> {
  const db = createDb({ client: 'pg', connection: url });
  try {
    for (const name of names) {
      const found = await db('pg_database').where({ datname: name }).first();
      if (!found) await db.raw('create database ??', [name]);
    }
  } finally {
    await db.destroy();
  }
}

/** The URL of database `name` on the server at `url`. */
export function databaseUrl(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** What pg_ctl -w reads: postmaster.pid names the server's pid and, once it accepts connections, says "ready". */
function acceptsConnections(dataDir: string, pid: number): boolean {
  try {
    const lines = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    return Number(lines[0]) === pid && lines[7]?.trim() === 'ready';
  } catch {
    return false;
  }
}

function tail(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n') : '(no log)';
}
