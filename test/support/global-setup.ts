// Runs once before all tests: nothing to start (each suite starts its own servers), but fail fast on a bad set-up.
import fs from 'node:fs';
import { temporalCli, temporalTestServer } from './temporal';

export default async function globalSetup(): Promise<void> {
  for (const binary of [temporalCli, temporalTestServer]) {
    if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run scripts/setup.sh --test`);
  }
}
