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
      CERTFLOW_API_TOKENS: JSON.stringify([
        { token: crypto.randomBytes(24).toString('base64url'), role: 'admin', agent: 'dev-admin' },
        { token: crypto.randomBytes(24).toString('base64url'), role: 'support', agent: 'dev-support' },
      ]),
    };
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    created = true;
  }
  const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  const merged = { ...env };
  for (const name of SECRET_NAMES) if (!merged[name] && stored[name]) merged[name] = stored[name];
  return { env: merged, file, created };
}
