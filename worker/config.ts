// The one typed configuration of certflow, read from the environment and validated at start-up.
import path from 'node:path';
import fs from 'node:fs';
import { z } from 'zod';
import type { ApiToken } from '../api/support/auth';
import { PROFILES, type Profile } from '../workflows/definitions';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** A secret has no default: `npm start` generates development values, production sets them. */
const secret = <T extends z.ZodType>(inner: T) =>
  z.unknown().refine((v) => v !== undefined && v !== '', 'is not set (a secret: set it in the environment; `npm start` generates development values)').pipe(inner);
const file = z.string().min(1).optional();

const roleToken = z.object({ token: z.string().min(24), role: z.enum(['support', 'admin']), agent: z.string().min(1) });

const schema = z.object({
  CERTFLOW_ROLE: z.enum(['web', 'worker', 'all']).default('all'),
  CERTFLOW_PROCESS_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dots, dashes or underscores').optional(),
  CERTFLOW_DATA_DIR: z.string().min(1).default('var'),
  CERTFLOW_PUBLIC_URL: z.string().url().optional(),
  /** Only for a deliberate exception: the enrollment password and the PKCS#12 would cross the network in clear. */
  CERTFLOW_ALLOW_INSECURE_PUBLIC_URL: z.enum(['true', 'false']).default('false'),
  CERTFLOW_TLS_PUBLIC_URL: z.string().url().optional(),
  CERTFLOW_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  CERTFLOW_HTTP_PORT: port.default(3000),
  /** The web/API listener speaks HTTPS itself (with the TLS listener's certificate), for a deployment without a TLS proxy. */
  CERTFLOW_HTTP_TLS: z.enum(['true', 'false']).default('false'),
  CERTFLOW_TLS_PORT: port.default(3443),
  CERTFLOW_TLS_CERT_FILE: file,
  CERTFLOW_TLS_KEY_FILE: file,
  CERTFLOW_OPS_PORT: port.default(9464),
  CERTFLOW_TEMPORAL_METRICS_ADDRESS: z.string().regex(/^[^:]+:\d+$/, 'must be host:port').optional(),
  CERTFLOW_TRUST_PROXY: z.string().min(1).optional(),
  CERTFLOW_TEMPORAL_ADDRESS: z.string().regex(/^[^:]+:\d+$/, 'must be host:port').default('127.0.0.1:7233'),
  CERTFLOW_TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  CERTFLOW_TEMPORAL_UI_PORT: port.default(8233),
  CERTFLOW_TEMPORAL_UI_URL: z.string().url().optional(),
  CERTFLOW_TEMPORAL_TLS_CERT_FILE: file,
  CERTFLOW_TEMPORAL_TLS_KEY_FILE: file,
  CERTFLOW_TEMPORAL_TLS_CA_FILE: file,
  CERTFLOW_TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  CERTFLOW_TASK_QUEUE: z.string().min(1).default('certflow'),
  // ~1 MB per cached workflow: 500 keep a worker well inside 1 GB; 0 turns the cache off, 1 is not a cache Temporal allows.
  CERTFLOW_WORKFLOW_CACHE_SIZE: z.coerce.number().int().min(0).refine((n) => n !== 1, 'must be 0 (no cache) or at least 2').default(500),
  // Per key algorithm in use; 0 turns the refill off (every key retrieval generates its key once the pool is used up).
  CERTFLOW_KEY_POOL_SIZE: z.coerce.number().int().min(0).max(10_000).default(8),
  CERTFLOW_DB_CLIENT: z.enum(['sqlite', 'pg']).default('sqlite'),
  CERTFLOW_DB_URL: z.string().min(1).optional(),
  CERTFLOW_SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  CERTFLOW_SMTP_PORT: port.default(1025),
  CERTFLOW_SMTP_SECURE: bool.default(false),
  CERTFLOW_SMTP_USER: z.string().optional(),
  CERTFLOW_SMTP_PASSWORD: z.string().optional(),
  // RFC 5321's 10 minutes for the answer to a message body; at most 30, so one mail fits the mail activity's hour.
  CERTFLOW_SMTP_REPLY_TIMEOUT_SECONDS: z.coerce.number().int().min(30).max(1800).default(600),
  // A mail sent without the relay's answer (it may have arrived) is sent again, same Message-ID, only after this.
  CERTFLOW_MAIL_UNCONFIRMED_RESEND_MINUTES: z.coerce.number().int().min(1).max(720).default(30),
  // The relay's limit, held by the Temporal server for the mail queue of all worker processes together (worker/worker.ts).
  CERTFLOW_MAIL_MAX_PER_SECOND: z.coerce.number().positive('must be more than 0 (mails per second; 0.5 is one every 2 s)').max(10_000).default(50),
  CERTFLOW_MAIL_FROM: z.string().min(3).default('danshinnet-sc@nissay-it.co.jp'),
  CERTFLOW_MAILBOX_WEB_PORT: port.default(1080),
  CERTFLOW_SUPPORT_PHONE: z.string().min(1).default('0120-588-399'),
  CERTFLOW_SUPPORT_EMAIL: z.string().min(3).default('danshinnet-sc@nissay-it.co.jp'),
  CERTFLOW_SUPPORT_HOURS: z.string().min(1).default('月～金曜日 9:00～17:30（祝日、12/31～1/3を除く）'),
  CERTFLOW_MANUAL_URL: z.string().url().default('http://entry-kiko.danshin-net.com/'),
  CERTFLOW_CA_PASSPHRASE: secret(z.string().min(12, 'must be at least 12 characters')),
  /** Where new CA keys are made: `file` (encrypted with the passphrase, in the database) or `pkcs11` (inside the token). */
  CERTFLOW_CA_KEY_STORE: z.enum(['file', 'pkcs11']).default('file'),
  ...Object.fromEntries(PROFILES.map((p) => [`CERTFLOW_CA_KEY_STORE_${p.toUpperCase()}`, z.enum(['file', 'pkcs11']).optional()])),
  CERTFLOW_PKCS11_MODULE: z.string().min(1).default('/usr/lib/softhsm/libsofthsm2.so'),
  CERTFLOW_PKCS11_TOKEN_LABEL: z.string().min(1).max(32).optional(),
  CERTFLOW_PKCS11_SLOT: z.coerce.number().int().min(0).optional(),
  CERTFLOW_PKCS11_PIN: z.string().min(1).optional(),
  CERTFLOW_PKCS11_PIN_FILE: file,
  CERTFLOW_DATA_KEY: secret(z.string().regex(/^[0-9a-f]{64}$/i, 'must be 64 hex characters (a 256-bit key)')),
  CERTFLOW_SESSION_SECRET: secret(z.string().min(32, 'must be at least 32 characters')),
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

/** What one process runs: the HTTP and TLS listeners, the Temporal worker, or both. */
export type Role = 'web' | 'worker' | 'all';

/** Settings given as a pair: both or neither. */
const PAIRS = [
  ['CERTFLOW_TLS_CERT_FILE', 'CERTFLOW_TLS_KEY_FILE'],
  ['CERTFLOW_TEMPORAL_TLS_CERT_FILE', 'CERTFLOW_TEMPORAL_TLS_KEY_FILE'],
] as const;

export interface Config {
  role: Role;
  /** Names this process in the X-Certflow-Process response header and its logs; unset, no header. */
  processName?: string;
  dataDir: string;
  publicUrl: string;
  /** Base URL of the TLS client-authentication listener (renewal, resume, portal gate). */
  tlsPublicUrl: string;
  http: {
    host: string;
    port: number;
    /** The web/API listener is HTTPS (CERTFLOW_HTTP_TLS); otherwise plain HTTP, behind a TLS proxy or on loopback. */
    tls: boolean;
    tlsPort: number;
    /** Express's `trust proxy` (e.g. `loopback` behind a local nginx): whose X-Forwarded-For names the client. */
    trustProxy?: string;
    /** The TLS listener's certificate, shared by every web process; unset, one is generated in serverCertificateDir. */
    serverCertificateFiles?: { certFile: string; keyFile: string };
    serverCertificateDir: string;
  };
  temporal: {
    address: string;
    namespace: string;
    uiPort: number;
    /** Base URL of the Temporal Web UI the console links each workflow to (default: the dev server's on uiPort). */
    uiUrl: string;
    taskQueue: string;
    /** Workflows the worker keeps in memory (maxCachedWorkflows); an evicted one is replayed from its history when it wakes. */
    workflowCacheSize: number;
    devServerDbFile: string;
    /** TLS to an existing cluster or Temporal Cloud; unset, plain gRPC. */
    tls?: { clientCertFile?: string; clientKeyFile?: string; caFile?: string; serverName?: string };
  };
  /**
   * The ops listener (/healthz, /readyz, /metrics) of a process without the HTTP side, and where the Temporal SDK
   * serves its own worker metrics (unset: the SDK records none).
   */
  ops: { port: number; temporalMetricsAddress?: string };
  db: { client: 'sqlite' | 'pg'; connection: string };
  smtp: {
    host: string;
    port: number;
    secure: boolean;
    user?: string;
    password?: string;
    from: string;
    /** How long to wait for any answer of the relay, the "250" after a body included. */
    replyTimeoutMs: number;
    /** How long a mail whose body went out without an answer waits before it is sent again. */
    unconfirmedResendAfterMs: number;
    /** Mail activities the Temporal server dispatches per second, all worker processes together (the relay's limit). */
    maxMailsPerSecond: number;
  };
  mailbox: { webPort: number };
  support: { phone: string; email: string; hours: string; manualUrl: string };
  ca: {
    dir: string;
    passphrase: string;
    /** Where each profile's new CA key is made, and the PKCS#11 token when a profile uses one (engines/pki/ca-keys.ts). */
    keyStore: {
      where: Record<Profile, 'file' | 'pkcs11'>;
      pkcs11?: { module: string; token: { label: string } | { slot: number }; pin: string };
    };
  };
  /** Pre-generated key pairs per key algorithm, sealed in the database, refilled by worker processes up to `size`. */
  keyPool: { size: number };
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

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The login with the enrollment password and the PKCS#12 download cross the network only over TLS; plain HTTP stays on loopback. */
function insecurePublicUrl(url: string | undefined, allowed: boolean): string[] {
  if (!url || allowed) return [];
  const { protocol, hostname } = new URL(url);
  if (protocol !== 'http:' || LOOPBACK.has(hostname)) return [];
  return [`CERTFLOW_PUBLIC_URL: ${url} would send enrollment passwords and keys over plain HTTP; use https:// (TLS at a proxy in front), or set CERTFLOW_ALLOW_INSECURE_PUBLIC_URL=true to accept that`];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  const problems = [
    ...(parsed.error?.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`) ?? []),
    ...PAIRS.flatMap(([a, b]) => (!env[a] === !env[b] ? [] : [`${env[a] ? b : a}: is required when ${env[a] ? a : b} is set (give both or neither)`])),
    ...insecurePublicUrl(parsed.data?.CERTFLOW_PUBLIC_URL, parsed.data?.CERTFLOW_ALLOW_INSECURE_PUBLIC_URL === 'true'),
    ...(parsed.success ? pkcs11Problems(env) : []),
  ];
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const e = parsed.data;
  const dataDir = path.resolve(e.CERTFLOW_DATA_DIR);
  const temporalTls = [e.CERTFLOW_TEMPORAL_TLS_CERT_FILE, e.CERTFLOW_TEMPORAL_TLS_CA_FILE, e.CERTFLOW_TEMPORAL_TLS_SERVER_NAME].some(Boolean)
    ? {
        clientCertFile: resolved(e.CERTFLOW_TEMPORAL_TLS_CERT_FILE),
        clientKeyFile: resolved(e.CERTFLOW_TEMPORAL_TLS_KEY_FILE),
        caFile: resolved(e.CERTFLOW_TEMPORAL_TLS_CA_FILE),
        serverName: e.CERTFLOW_TEMPORAL_TLS_SERVER_NAME,
      }
    : undefined;
  const db =
    e.CERTFLOW_DB_CLIENT === 'pg'
      ? { client: 'pg' as const, connection: requireValue(e.CERTFLOW_DB_URL, 'CERTFLOW_DB_URL', 'is required when CERTFLOW_DB_CLIENT=pg') }
      : { client: 'sqlite' as const, connection: e.CERTFLOW_DB_URL ?? path.join(dataDir, 'certflow.sqlite') };
  return {
    role: e.CERTFLOW_ROLE,
    processName: e.CERTFLOW_PROCESS_NAME,
    dataDir,
    publicUrl: (e.CERTFLOW_PUBLIC_URL ?? `${e.CERTFLOW_HTTP_TLS === 'true' ? 'https' : 'http'}://localhost:${e.CERTFLOW_HTTP_PORT}`).replace(/\/$/, ''),
    tlsPublicUrl: (e.CERTFLOW_TLS_PUBLIC_URL ?? `https://localhost:${e.CERTFLOW_TLS_PORT}`).replace(/\/$/, ''),
    http: {
      host: e.CERTFLOW_HTTP_HOST,
      port: e.CERTFLOW_HTTP_PORT,
      tls: e.CERTFLOW_HTTP_TLS === 'true',
      tlsPort: e.CERTFLOW_TLS_PORT,
      trustProxy: e.CERTFLOW_TRUST_PROXY,
      serverCertificateFiles:
        e.CERTFLOW_TLS_CERT_FILE && e.CERTFLOW_TLS_KEY_FILE
          ? { certFile: path.resolve(e.CERTFLOW_TLS_CERT_FILE), keyFile: path.resolve(e.CERTFLOW_TLS_KEY_FILE) }
          : undefined,
      serverCertificateDir: path.join(dataDir, 'tls'),
    },
    temporal: {
      address: e.CERTFLOW_TEMPORAL_ADDRESS,
      namespace: e.CERTFLOW_TEMPORAL_NAMESPACE,
      uiPort: e.CERTFLOW_TEMPORAL_UI_PORT,
      uiUrl: (e.CERTFLOW_TEMPORAL_UI_URL ?? `http://127.0.0.1:${e.CERTFLOW_TEMPORAL_UI_PORT}`).replace(/\/+$/, ''),
      taskQueue: e.CERTFLOW_TASK_QUEUE,
      workflowCacheSize: e.CERTFLOW_WORKFLOW_CACHE_SIZE,
      devServerDbFile: path.join(dataDir, 'temporal.sqlite'),
      tls: temporalTls,
    },
    ops: { port: e.CERTFLOW_OPS_PORT, temporalMetricsAddress: e.CERTFLOW_TEMPORAL_METRICS_ADDRESS },
    db,
    smtp: {
      host: e.CERTFLOW_SMTP_HOST,
      port: e.CERTFLOW_SMTP_PORT,
      secure: e.CERTFLOW_SMTP_SECURE,
      user: e.CERTFLOW_SMTP_USER,
      password: e.CERTFLOW_SMTP_PASSWORD,
      from: e.CERTFLOW_MAIL_FROM,
      replyTimeoutMs: e.CERTFLOW_SMTP_REPLY_TIMEOUT_SECONDS * 1000,
      unconfirmedResendAfterMs: e.CERTFLOW_MAIL_UNCONFIRMED_RESEND_MINUTES * 60_000,
      maxMailsPerSecond: e.CERTFLOW_MAIL_MAX_PER_SECOND,
    },
    mailbox: { webPort: e.CERTFLOW_MAILBOX_WEB_PORT },
    support: {
      phone: e.CERTFLOW_SUPPORT_PHONE,
      email: e.CERTFLOW_SUPPORT_EMAIL,
      hours: e.CERTFLOW_SUPPORT_HOURS,
      manualUrl: e.CERTFLOW_MANUAL_URL,
    },
    ca: { dir: path.join(dataDir, 'ca'), passphrase: e.CERTFLOW_CA_PASSPHRASE, keyStore: caKeyStore(env, e) },
    keyPool: { size: e.CERTFLOW_KEY_POOL_SIZE },
    dataKey: Buffer.from(e.CERTFLOW_DATA_KEY, 'hex'),
    sessionSecret: e.CERTFLOW_SESSION_SECRET,
    apiTokens: e.CERTFLOW_API_TOKENS,
    logLevel: e.CERTFLOW_LOG_LEVEL,
  };
}

type ParsedEnv = z.infer<typeof schema>;

function keyStoreOf(env: NodeJS.ProcessEnv, profile: Profile): 'file' | 'pkcs11' {
  const value = env[`CERTFLOW_CA_KEY_STORE_${profile.toUpperCase()}`] || env.CERTFLOW_CA_KEY_STORE || 'file';
  return value as 'file' | 'pkcs11';
}

/** A PKCS#11 key store needs one token (label or slot) and one PIN (value or file). */
function pkcs11Problems(env: NodeJS.ProcessEnv): string[] {
  if (!PROFILES.some((p) => keyStoreOf(env, p) === 'pkcs11')) return [];
  const problems: string[] = [];
  if (!env.CERTFLOW_PKCS11_TOKEN_LABEL === !env.CERTFLOW_PKCS11_SLOT) {
    problems.push('CERTFLOW_PKCS11_TOKEN_LABEL or CERTFLOW_PKCS11_SLOT: give exactly one when a CA key store is pkcs11');
  }
  if (!env.CERTFLOW_PKCS11_PIN === !env.CERTFLOW_PKCS11_PIN_FILE) {
    problems.push('CERTFLOW_PKCS11_PIN or CERTFLOW_PKCS11_PIN_FILE: give exactly one when a CA key store is pkcs11');
  } else if (env.CERTFLOW_PKCS11_PIN_FILE && !fs.existsSync(env.CERTFLOW_PKCS11_PIN_FILE)) {
    problems.push(`CERTFLOW_PKCS11_PIN_FILE: ${env.CERTFLOW_PKCS11_PIN_FILE} does not exist`);
  }
  return problems;
}

function caKeyStore(env: NodeJS.ProcessEnv, e: ParsedEnv): Config['ca']['keyStore'] {
  const where = Object.fromEntries(PROFILES.map((p) => [p, keyStoreOf(env, p)])) as Record<Profile, 'file' | 'pkcs11'>;
  if (!Object.values(where).includes('pkcs11')) return { where };
  // A PIN file holds the PIN alone; its final newline is not part of it.
  const pin = e.CERTFLOW_PKCS11_PIN ?? fs.readFileSync(e.CERTFLOW_PKCS11_PIN_FILE!, 'utf8').replace(/\r?\n$/, '');
  const token = e.CERTFLOW_PKCS11_TOKEN_LABEL !== undefined ? { label: e.CERTFLOW_PKCS11_TOKEN_LABEL } : { slot: e.CERTFLOW_PKCS11_SLOT! };
  return { where, pkcs11: { module: e.CERTFLOW_PKCS11_MODULE, token, pin } };
}

function resolved(file: string | undefined): string | undefined {
  return file ? path.resolve(file) : undefined;
}

function requireValue(value: string | undefined, name: string, message: string): string {
  if (!value) throw new ConfigError([`${name}: ${message}`]);
  return value;
}
