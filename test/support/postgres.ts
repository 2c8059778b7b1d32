// A throwaway PostgreSQL cluster for one test run: worker/postgres-cluster.ts in a temp folder, a free port, no fsync.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findPostgresBinaries, POSTGRES_INSTALL_HINT, startPostgres } from '../../worker/postgres-cluster';

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  dir: string;
  /** Stops the server at once and removes its folder; safe to call twice, and synchronous for exit hooks. */
  stop(): void;
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-pg-'));
  try {
    const server = await startPostgres({ dir, port: 0, throwaway: true });
    return {
      url: server.url,
      dir,
      stop() {
        server.stopNow();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL tests: could not start a throwaway cluster (${POSTGRES_INSTALL_HINT}, or set CERTFLOW_TEST_PG_URL).\n${(error as Error).message}`);
  }
}

/** Every row of one database as pg_dump writes it (plain SQL; bytea as hex), for tests that search what is stored. */
export function dumpPostgresDatabase(url: string): Buffer {
  const { pgDump } = findPostgresBinaries();
  if (!fs.existsSync(pgDump)) throw new Error(`PostgreSQL tests: ${pgDump} not found beside initdb; ${POSTGRES_INSTALL_HINT}`);
  return execFileSync(pgDump, ['--dbname', url, '--no-owner', '--no-privileges'], {
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
