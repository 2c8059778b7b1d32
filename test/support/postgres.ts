// A throwaway PostgreSQL cluster for one test run: initdb in a temp folder, a free port on 127.0.0.1, trust auth.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../infra/ports';

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  dir: string;
  /** Stops the server at once and removes its folder; safe to call twice. */
  stop(): void;
}

const INSTALL_HINT = 'install Debian\'s postgresql package (scripts/setup.sh --test does it) or set CERTFLOW_TEST_PG_URL';

/** initdb, pg_ctl and pg_dump from PATH, else from the newest /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH). */
export function findPostgresBinaries(): { initdb: string; pgCtl: string; pgDump: string } {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const debianRoot = '/usr/lib/postgresql';
  if (fs.existsSync(debianRoot)) {
    const versions = fs.readdirSync(debianRoot).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((v) => path.join(debianRoot, v, 'bin')));
  }
  const bin = dirs.find((d) => fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'pg_ctl')));
  if (!bin) throw new Error(`PostgreSQL tests: initdb/pg_ctl not found on PATH or under ${debianRoot}/*/bin; ${INSTALL_HINT}`);
  // pg_dump beside the real initdb: PATH may hold only symlinks to initdb and pg_ctl (e.g. in /usr/local/bin).
  const pgDump = path.join(path.dirname(fs.realpathSync(path.join(bin, 'initdb'))), 'pg_dump');
  return { initdb: path.join(bin, 'initdb'), pgCtl: path.join(bin, 'pg_ctl'), pgDump };
}

/** initdb refuses to run as root: as root, the cluster belongs to `postgres` (or `nobody`). */
function clusterOwner(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const id = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    if (id.status !== 0) continue;
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    return { name, uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error(`PostgreSQL tests: running as root and neither the postgres nor the nobody user exists to own the cluster`);
}


export async function startPostgresCluster(): Promise<PostgresCluster> {
  const { initdb, pgCtl } = findPostgresBinaries();
  const owner = clusterOwner();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-pg-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  // The owner's cwd is the temp folder: initdb and pg_ctl cannot work from a folder they cannot read.
  const asOwner = (command: string, args: string[]) =>
    owner ? (['runuser', ['-u', owner.name, '--', command, ...args]] as const) : ([command, args] as const);
  const run = (command: string, args: string[]) => {
    const [cmd, argv] = asOwner(command, args);
    return execFileSync(cmd, [...argv], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  };

  const stop = () => {
    // A server that timed out starting may still be running: stop whatever left a pid file.
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
      const [cmd, argv] = asOwner(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      spawnSync(cmd, [...argv], { cwd: dir, stdio: 'ignore' });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    run(initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C']);
    let lastError: unknown;
    // A free port can be taken between probing and listening; try a few.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const options = [
        `-p ${port}`,
        '-c listen_addresses=127.0.0.1',
        `-c unix_socket_directories=${dir}`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
      ].join(' ');
      try {
        run(pgCtl, ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
        return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dir, stop };
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  } catch (error) {
    const e = error as { message?: string; stderr?: string };
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
    stop();
    throw new Error(
      `PostgreSQL tests: could not start a throwaway cluster (${INSTALL_HINT}).\n${e.stderr || e.message || String(error)}${log ? `\n--- postgres.log ---\n${log}` : ''}`,
    );
  }
}

/** Every row of one database as pg_dump writes it (plain SQL; bytea as hex), for tests that search what is stored. */
export function dumpPostgresDatabase(url: string): Buffer {
  const { pgDump } = findPostgresBinaries();
  if (!fs.existsSync(pgDump)) throw new Error(`PostgreSQL tests: ${pgDump} not found beside initdb; ${INSTALL_HINT}`);
  return execFileSync(pgDump, ['--dbname', url, '--no-owner', '--no-privileges'], {
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
