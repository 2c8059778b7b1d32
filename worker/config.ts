// The one typed configuration of certflow, read from the environment and validated at start-up.
import path from 'node:path';
import { z } from 'zod';
import type { ApiToken } from '../api/support/auth';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const roleToken = z.object({ token: z.string().min(24), role: z.enum(['support', 'admin']), agent: z.string().min(1) });

const schema = z.object({
  CERTFLOW_DATA_DIR: z.string().min(1).default('var'),
  CERTFLOW_PUBLIC_URL: z.string().url().optional(),
  CERTFLOW_TLS_PUBLIC_URL: z.string().url().optional(),
  CERTFLOW_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  CERTFLOW_HTTP_PORT: port.default(3000),
  CERTFLOW_TLS_PORT: port.default(3443),
  CERTFLOW_TEMPORAL_ADDRESS: z.string().regex(/^[^:]+:\d+$/, 'must be host:port').default('127.0.0.1:7233'),
  CERTFLOW_TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  CERTFLOW_TEMPORAL_UI_PORT: port.default(8233),
  CERTFLOW_TASK_QUEUE: z.string().min(1).default('certflow'),
  CERTFLOW_DB_CLIENT: z.enum(['sqlite', 'pg']).default('sqlite'),
  CERTFLOW_DB_URL: z.string().min(1).optional(),
  CERTFLOW_SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  CERTFLOW_SMTP_PORT: port.default(1025),
  CERTFLOW_SMTP_SECURE: bool.default(false),
  CERTFLOW_SMTP_USER: z.string().optional(),
  CERTFLOW_SMTP_PASSWORD: z.string().optional(),
  CERTFLOW_MAIL_FROM: z.string().min(3).default('danshinnet-sc@nissay-it.co.jp'),
  CERTFLOW_MAILBOX_WEB_PORT: port.default(1080),
  CERTFLOW_SUPPORT_PHONE: z.string().min(1).default('0120-588-399'),
  CERTFLOW_SUPPORT_EMAIL: z.string().min(3).default('danshinnet-sc@nissay-it.co.jp'),
  CERTFLOW_SUPPORT_HOURS: z.string().min(1).default('月～金曜日 9:00～17:30（祝日、12/31～1/3を除く）'),
  CERTFLOW_MANUAL_URL: z.string().url().default('http://entry-kiko.danshin-net.com/'),
  CERTFLOW_CA_PASSPHRASE: z.string().min(12, 'must be at least 12 characters'),
  CERTFLOW_DATA_KEY: z.string().regex(/^[0-9a-f]{64}$/i, 'must be 64 hex characters (a 256-bit key)'),
  CERTFLOW_SESSION_SECRET: z.string().min(32, 'must be at least 32 characters'),
  CERTFLOW_API_TOKENS: z
    .string()
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON: [{"token":"…","role":"support|admin","agent":"…"}]' });
        return z.NEVER;
      }
    })
    .pipe(z.array(roleToken))
    .default([]),
  CERTFLOW_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});


export interface Config {
  dataDir: string;
  publicUrl: string;
  /** Base URL of the TLS client-authentication listener (renewal, resume, portal gate). */
  tlsPublicUrl: string;
  http: { host: string; port: number; tlsPort: number };
  temporal: { address: string; namespace: string; uiPort: number; taskQueue: string; devServerDbFile: string };
  db: { client: 'sqlite' | 'pg'; connection: string };
  smtp: { host: string; port: number; secure: boolean; user?: string; password?: string; from: string };
  mailbox: { webPort: number };
  support: { phone: string; email: string; hours: string; manualUrl: string };
  ca: { dir: string; passphrase: string };
  dataKey: Buffer;
  sessionSecret: string;
  apiTokens: ApiToken[];
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`));
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.CERTFLOW_DATA_DIR);
  const db =
    e.CERTFLOW_DB_CLIENT === 'pg'
      ? { client: 'pg' as const, connection: requireValue(e.CERTFLOW_DB_URL, 'CERTFLOW_DB_URL', 'is required when CERTFLOW_DB_CLIENT=pg') }
      : { client: 'sqlite' as const, connection: e.CERTFLOW_DB_URL ?? path.join(dataDir, 'certflow.sqlite') };
  return {
    dataDir,
    publicUrl: (e.CERTFLOW_PUBLIC_URL ?? `http://localhost:${e.CERTFLOW_HTTP_PORT}`).replace(/\/$/, ''),
    tlsPublicUrl: (e.CERTFLOW_TLS_PUBLIC_URL ?? `https://localhost:${e.CERTFLOW_TLS_PORT}`).replace(/\/$/, ''),
    http: { host: e.CERTFLOW_HTTP_HOST, port: e.CERTFLOW_HTTP_PORT, tlsPort: e.CERTFLOW_TLS_PORT },
    temporal: {
      address: e.CERTFLOW_TEMPORAL_ADDRESS,
      namespace: e.CERTFLOW_TEMPORAL_NAMESPACE,
      uiPort: e.CERTFLOW_TEMPORAL_UI_PORT,
      taskQueue: e.CERTFLOW_TASK_QUEUE,
      devServerDbFile: path.join(dataDir, 'temporal.sqlite'),
    },
    db,
    smtp: {
      host: e.CERTFLOW_SMTP_HOST,
      port: e.CERTFLOW_SMTP_PORT,
      secure: e.CERTFLOW_SMTP_SECURE,
      user: e.CERTFLOW_SMTP_USER,
      password: e.CERTFLOW_SMTP_PASSWORD,
      from: e.CERTFLOW_MAIL_FROM,
    },
    mailbox: { webPort: e.CERTFLOW_MAILBOX_WEB_PORT },
    support: {
      phone: e.CERTFLOW_SUPPORT_PHONE,
      email: e.CERTFLOW_SUPPORT_EMAIL,
      hours: e.CERTFLOW_SUPPORT_HOURS,
      manualUrl: e.CERTFLOW_MANUAL_URL,
    },
    ca: { dir: path.join(dataDir, 'ca'), passphrase: e.CERTFLOW_CA_PASSPHRASE },
    dataKey: Buffer.from(e.CERTFLOW_DATA_KEY, 'hex'),
    sessionSecret: e.CERTFLOW_SESSION_SECRET,
    apiTokens: e.CERTFLOW_API_TOKENS,
    logLevel: e.CERTFLOW_LOG_LEVEL,
  };
}

function requireValue(value: string | undefined, name: string, message: string): string {
  if (!value) throw new ConfigError([`${name}: ${message}`]);
  return value;
}
