// certflow's support CLI: the support/admin HTTP API from a terminal, e.g. `npm run cli -- reissue emp002 --profile nissay`.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = `usage: npm run cli -- <command> [arguments] [options]

  reissue <userId> [--profile p]                  revoke now, start a successor; prints the new enrollment password once
  revoke <userId> --reason r [--profile p]        admin; r is an RFC 5280 reason (keyCompromise, affiliationChanged, …)
  password-reset <requestId>                      new enrollment password for a request awaiting key retrieval
  new-request <userId> [--profile p]              fresh request after an expired request or a revoked/expired certificate
  unlock <userId>                                 clear failed logins and the login lock
  show user <userId> [--profile p]
  show request <requestId>
  list certificates [--status s] [--profile p] [--expiring-before yyyy-mm-dd]   admin
  list failed-mails                                                              admin
  ca trust-previous <profile> <ca.pem> [--crl file]   admin; a previous CA of the profile (migration import), with its CRL (PEM or DER)
  ca previous [--profile p]                           admin; the previous CAs and their CRLs

environment: CERTFLOW_API_URL (default http://127.0.0.1:$CERTFLOW_HTTP_PORT or :3000),
             CERTFLOW_API_TOKEN (default: from $CERTFLOW_DATA_DIR/dev-secrets.json, the role the command needs)`;

type Role = 'support' | 'admin';

interface Call {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  body?: Record<string, unknown>;
  /** A file sent as it is (a CRL), with its content type. */
  raw?: { contentType: string; bytes: Buffer };
  role: Role;
  /** Made with the answer of this call, e.g. the CRL of the CA just registered. */
  then?: (answer: unknown) => Call;
}

const enc = encodeURIComponent;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function callFor(positionals: string[], options: Record<string, string | undefined>): Call {
  const [command, a, b] = positionals;
  const need = (value: string | undefined, what: string) => value ?? fail(`${command}: missing ${what}\n\n${USAGE}`);
  const profile = options.profile ? { profile: options.profile } : {};
  switch (command) {
    case 'reissue':
      return { method: 'POST', path: `/users/${enc(need(a, '<userId>'))}/reissue`, body: profile, role: 'support' };
    case 'revoke':
      return { method: 'POST', path: `/users/${enc(need(a, '<userId>'))}/revoke`, body: { reason: need(options.reason, '--reason'), ...profile }, role: 'admin' };
    case 'password-reset':
      return { method: 'POST', path: `/requests/${enc(need(a, '<requestId>'))}/password-reset`, role: 'support' };
    case 'new-request':
      return { method: 'POST', path: `/users/${enc(need(a, '<userId>'))}/new-request`, body: profile, role: 'support' };
    case 'unlock':
      return { method: 'POST', path: `/users/${enc(need(a, '<userId>'))}/unlock`, role: 'support' };
    case 'show':
      if (a === 'user') return { method: 'GET', path: `/users/${enc(need(b, '<userId>'))}${options.profile ? `?profile=${enc(options.profile)}` : ''}`, role: 'support' };
      if (a === 'request') return { method: 'GET', path: `/requests/${enc(need(b, '<requestId>'))}`, role: 'support' };
      return fail(`show: say "user" or "request"\n\n${USAGE}`);
    case 'list': {
      if (a === 'failed-mails') return { method: 'GET', path: '/mails/failed', role: 'admin' };
      if (a !== 'certificates') return fail(`list: say "certificates" or "failed-mails"\n\n${USAGE}`);
      const query = new URLSearchParams();
      if (options.status) query.set('status', options.status);
      if (options.profile) query.set('profile', options.profile);
      if (options['expiring-before']) query.set('expiringBefore', options['expiring-before']);
      return { method: 'GET', path: `/certificates${query.size ? `?${query}` : ''}`, role: 'admin' };
    }
    case 'ca': {
      if (a === 'previous') return { method: 'GET', path: `/previous-cas${options.profile ? `?profile=${enc(options.profile)}` : ''}`, role: 'admin' };
      if (a !== 'trust-previous') return fail(`ca: say "trust-previous" or "previous"\n\n${USAGE}`);
      const profile = need(b, '<profile>');
      const certificatePem = readFile(need(positionals[3], '<ca.pem>'));
      const crlFile = options.crl;
      const crl = crlFile === undefined ? undefined : readFile(crlFile);
      return {
        method: 'POST',
        path: '/previous-cas',
        body: { profile, certificatePem: certificatePem.toString('utf8') },
        role: 'admin',
        ...(crl && {
          then: (ca: unknown) => ({
            method: 'PUT' as const,
            path: `/previous-cas/${enc(profile)}/${(ca as { fingerprint: string }).fingerprint}/crl`,
            raw: { contentType: crl.subarray(0, 11).toString('latin1') === '-----BEGIN ' ? 'application/x-pem-file' : 'application/pkix-crl', bytes: crl },
            role: 'admin' as const,
          }),
        }),
      };
    }
    default:
      return fail(USAGE);
  }
}

function readFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    return fail(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** For local use: the dev token of the role the command needs, as `npm start` generated it. */
function devToken(role: Role): string | undefined {
  const file = path.join(path.resolve(process.env.CERTFLOW_DATA_DIR ?? 'var'), 'dev-secrets.json');
  if (!fs.existsSync(file)) return undefined;
  const tokens = JSON.parse(JSON.parse(fs.readFileSync(file, 'utf8')).CERTFLOW_API_TOKENS ?? '[]') as Array<{ token: string; role: Role }>;
  return (tokens.find((t) => t.role === role) ?? tokens.find((t) => t.role === 'admin'))?.token;
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { profile: { type: 'string' }, reason: { type: 'string' }, crl: { type: 'string' }, status: { type: 'string' }, 'expiring-before': { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let call: Call | undefined = callFor(positionals, values as Record<string, string | undefined>);
  const baseUrl = (process.env.CERTFLOW_API_URL ?? `http://127.0.0.1:${process.env.CERTFLOW_HTTP_PORT ?? 3000}`).replace(/\/$/, '');
  const token = process.env.CERTFLOW_API_TOKEN ?? devToken(call.role) ?? fail('no token: set CERTFLOW_API_TOKEN');
  while (call) {
    const body = await send(baseUrl, token, call);
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    call = call.then?.(body);
  }
}

async function send(baseUrl: string, token: string, call: Call): Promise<unknown> {
  const contentType = call.raw?.contentType ?? (call.body ? 'application/json' : undefined);
  const res = await fetch(`${baseUrl}/api/v1${call.path}`, {
    method: call.method,
    headers: { authorization: `Bearer ${token}`, ...(contentType ? { 'content-type': contentType } : {}) },
    body: call.raw ? new Uint8Array(call.raw.bytes) : call.body ? JSON.stringify(call.body) : undefined,
  }).catch((err: Error) => fail(`cannot reach ${baseUrl}: ${(err.cause as Error | undefined)?.message ?? err.message}`));
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const e = body as { message?: string; field?: string } | undefined;
    process.stderr.write(`HTTP ${res.status}: ${e?.message ?? text}${e?.field ? ` (field ${e.field})` : ''}\n`);
    process.exit(1);
  }
  return body;
}

void main();
