// The benches of certflow's own HTTP routes (bench:web, bench:ocsp): the runtime on a fresh data folder and a Temporal
// client that is never dialled, since the routes measured never reach Temporal.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../worker/config';
import { createRuntime, type Runtime } from '../worker/composition';

export async function startOfflineRuntime(name: string): Promise<{ dir: string; runtime: Runtime; client: Client }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `certflow-bench-${name}-`));
  const config = loadConfig({
    CERTFLOW_DATA_DIR: dir,
    CERTFLOW_CA_PASSPHRASE: 'bench-ca-passphrase',
    CERTFLOW_DATA_KEY: '3c'.repeat(32),
    CERTFLOW_SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
    CERTFLOW_LOG_LEVEL: 'silent',
  });
  const runtime = await createRuntime(config);
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  return { dir, runtime, client };
}
