// Embedded defaults for `npm start`: secrets generated once into var/dev-secrets.json (mode 0600), never committed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const SECRET_NAMES = ['CERTFLOW_CA_PASSPHRASE', 'CERTFLOW_DATA_KEY', 'CERTFLOW_SESSION_SECRET', 'CERTFLOW_API_TOKENS'] as const;

/** Fills the secret variables missing from env from the dev secrets file, creating it on first use. */
export function withDevSecrets(env: NodeJS.ProcessEnv, dataDir: string): { env: NodeJS.ProcessEnv; file: string; created: boolean } {
  const file = path.join(path.resolve(dataDir), 'dev-secrets.json');
  let created = false;
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const secrets = {
      CERTFLOW_CA_PASSPHRASE: crypto.randomBytes(24).toString('base64url'),
      CERTFLOW_DATA_KEY: crypto.randomBytes(32).toString('hex'),
      CERTFLOW_SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
      // A list a person can read and copy a token from, not a JSON string inside JSON.
      CERTFLOW_API_TOKENS: [
        { token: crypto.randomBytes(24).toString('base64url'), role: 'admin', agent: 'dev-admin' },
        { token: crypto.randomBytes(24).toString('base64url'), role: 'support', agent: 'dev-support' },
      ],
    };
    // Written aside and linked into place: of processes starting together on a new data folder, one file wins whole
    // and the others read it (never a half-written file, never two sets of secrets).
    const draft = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    fs.writeFileSync(draft, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    try {
      fs.linkSync(draft, file);
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(draft, { force: true });
    }
  }
  const stored = readDevSecrets(file);
  const merged = { ...env };
  for (const name of SECRET_NAMES) if (!merged[name] && stored[name]) merged[name] = stored[name];
  return { env: merged, file, created };
}

export interface DevApiToken {
  token: string;
  role: 'support' | 'admin';
  agent: string;
}

/** The secrets as environment values; the API tokens are stored as a list (files of earlier versions: a JSON string). */
export function readDevSecrets(file: string): Partial<Record<(typeof SECRET_NAMES)[number], string>> {
  const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const values: Partial<Record<(typeof SECRET_NAMES)[number], string>> = {};
  for (const name of SECRET_NAMES) {
    const value = stored[name];
    if (value !== undefined) values[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return values;
}

/** The API tokens of a dev secrets file, for the CLI and the banner. */
export function devApiTokens(file: string): DevApiToken[] {
  return JSON.parse(readDevSecrets(file).CERTFLOW_API_TOKENS ?? '[]') as DevApiToken[];
}
