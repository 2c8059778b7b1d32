// A complete configuration for in-process tests: temporary data folder, generated secrets, ports chosen by the OS.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../worker/config';

export { freePort } from '../../infra/ports';

export const ADMIN_TOKEN = crypto.randomBytes(24).toString('base64url');
export const SUPPORT_TOKEN = crypto.randomBytes(24).toString('base64url');

export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-'));
  return {
    CERTFLOW_DATA_DIR: dataDir,
    CERTFLOW_CA_PASSPHRASE: crypto.randomBytes(18).toString('base64url'),
    CERTFLOW_DATA_KEY: crypto.randomBytes(32).toString('hex'),
    CERTFLOW_SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
    CERTFLOW_API_TOKENS: JSON.stringify([
      { token: ADMIN_TOKEN, role: 'admin', agent: 'test-admin' },
      { token: SUPPORT_TOKEN, role: 'support', agent: 'test-support' },
    ]),
    CERTFLOW_LOG_LEVEL: 'silent',
    ...overrides,
  };
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(testEnv(overrides));
}
