// `npm run serve`, the production process: no generated secrets, and a configured file that cannot be read is named
// before anything connects. Running in each role is the cluster suite's (test/cluster).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { npmScriptNodeArgs } from '../../worker/child-process';
import { testEnv } from '../support/config';

const root = path.resolve(__dirname, '../..');

function serve(env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, npmScriptNodeArgs('serve', env as NodeJS.ProcessEnv), { cwd: root, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('npm run serve', () => {
  it('when the secrets are not set, then it stops naming each of them and generates none', async () => {
    const env: Record<string, string | undefined> = { PATH: process.env.PATH, ...testEnv() };
    for (const name of ['CERTFLOW_CA_PASSPHRASE', 'CERTFLOW_DATA_KEY', 'CERTFLOW_SESSION_SECRET']) delete env[name];
    const { code, output } = await serve(env);
    expect(code).toBe(1);
    for (const name of ['CERTFLOW_CA_PASSPHRASE', 'CERTFLOW_DATA_KEY', 'CERTFLOW_SESSION_SECRET']) {
      expect(output).toContain(`${name}: is not set`);
    }
    expect(fs.readdirSync(env.CERTFLOW_DATA_DIR!)).toEqual([]);
  });

  it.each([
    ['web', { CERTFLOW_TLS_CERT_FILE: '/nonexistent/server-cert.pem', CERTFLOW_TLS_KEY_FILE: '/nonexistent/server-key.pem' }, 'CERTFLOW_TLS_CERT_FILE=/nonexistent/server-cert.pem: cannot be read (ENOENT)'],
    ['worker', { CERTFLOW_TEMPORAL_TLS_CA_FILE: '/nonexistent/temporal-ca.pem' }, 'CERTFLOW_TEMPORAL_TLS_CA_FILE=/nonexistent/temporal-ca.pem: cannot be read (ENOENT)'],
  ])('when role %s is given a file it cannot read, then start-up stops naming the setting, before any connection', async (role, files, message) => {
    // No Temporal Server listens on this address: the message must come before any attempt to reach it.
    const { code, output } = await serve({ PATH: process.env.PATH, ...testEnv({ CERTFLOW_ROLE: role, CERTFLOW_TEMPORAL_ADDRESS: '127.0.0.1:1', ...files }) });
    expect(code).toBe(1);
    expect(output).toContain(`certflow cannot start: ${message}`);
    expect(output).not.toMatch(/127\.0\.0\.1:1\b/);
  });
});
