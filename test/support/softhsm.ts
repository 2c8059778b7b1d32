// A throwaway SoftHSM2 (Debian's softhsm2) for the PKCS#11 tests and bench:pki: its own configuration and token folder,
// so nothing touches the system's tokens. SoftHSM2 reads SOFTHSM2_CONF when the module initialises: it must be in the
// process environment before that (jest's globalSetup, or a bench before it opens the token).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Points SOFTHSM2_CONF at a new temporary folder (removed when the process exits); returns that folder. */
export function useThrowawaySoftHsm(env: NodeJS.ProcessEnv = process.env): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-softhsm-'));
  fs.mkdirSync(path.join(dir, 'tokens'));
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  env.SOFTHSM2_CONF = conf;
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Initialises a new token in the next free slot of the SoftHSM2 that SOFTHSM2_CONF names. */
export function createSoftHsmToken(label: string, pin: string, env: NodeJS.ProcessEnv = process.env): void {
  if (!env.SOFTHSM2_CONF) throw new Error('SOFTHSM2_CONF is not set: call useThrowawaySoftHsm() first (jest: globalSetup does)');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', `${pin}-so`], { env, stdio: 'pipe' });
}
