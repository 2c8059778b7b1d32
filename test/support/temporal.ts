// Real Temporal servers for tests: the time-skipping test server and the dev server, from .tools/temporal.
import path from 'node:path';
import fs from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { CertNotAfter, CertProfile, CertRequestId, CertStatus, CertUserId } from '../../workflows/definitions';
import { searchAttributeIndexTypes } from '../../worker/temporal-namespace';

const root = path.resolve(__dirname, '../..');
export const temporalCli = path.join(root, '.tools/temporal/temporal');
export const temporalTestServer = path.join(root, '.tools/temporal/temporal-test-server');

function existing(binary: string): string {
  if (!fs.existsSync(binary)) {
    throw new Error(`${binary} is missing: run scripts/install-temporal.sh (npm test does it before jest)`);
  }
  return binary;
}

export const certflowSearchAttributes = [CertStatus, CertProfile, CertUserId, CertRequestId, CertNotAfter];

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: existing(temporalTestServer) } },
  });
  // The test server knows only the default search attributes; register certflow's as `npm start` does on the dev server.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: searchAttributeIndexTypes(),
  });
  return env;
}

export function createDevServerEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: existing(temporalCli) },
      ip: '127.0.0.1',
      ui: false,
      searchAttributes: certflowSearchAttributes,
      extraArgs: ['--log-level', 'error'],
    },
  });
}
