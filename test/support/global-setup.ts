// Runs once before all tests: fail fast on a bad set-up, and start the run's throwaway PostgreSQL unless one is given.
import fs from 'node:fs';
import { temporalCli, temporalTestServer } from './temporal';
import { startPostgresCluster, type PostgresCluster } from './postgres';
import { useThrowawaySoftHsm } from './softhsm';

declare global {
  // Read by global-teardown.ts, which runs in the same process.
  var certflowPostgres: PostgresCluster | undefined;
}

export default async function globalSetup(): Promise<void> {
  for (const binary of [temporalCli, temporalTestServer]) {
    if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run scripts/setup.sh --test`);
  }
  // The PKCS#11 tests' SoftHSM2 (test/pki/hsm.test.ts): its configuration is read from the environment the workers inherit.
  useThrowawaySoftHsm();
  // An operator's server (e.g. CI's) is used as is; the tests create and drop their own databases in it.
  if (process.env.CERTFLOW_TEST_PG_URL) return;
  const cluster = await startPostgresCluster();
  globalThis.certflowPostgres = cluster;
  // Jest does not run globalTeardown when interrupted; the exit hook still removes the cluster.
  process.once('exit', () => cluster.stop());
  // Workers are forked after globalSetup, so they inherit this.
  process.env.CERTFLOW_TEST_PG_URL = cluster.url;
}
