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
  search <text> [--field userId|requestId|serial|email|organization] [--status s] [--profile p]
                                                  IDs and serials exactly, the mail by its start, the organisation anywhere
  show timeline <userId>                          requests, mails, audit entries and the portal's verdict per profile
  diagnose <file>                                 a certificate (PEM or DER): whose, its request, why a portal refuses it
  list expiring --days N [--profile p]            certificates in use whose notAfter is within N days
  list awaiting-retrieval --days N [--profile p]  requests whose key has waited more than N days
  list audit [--agent a] [--action x] [--target t [--target-prefix]] [--from date] [--to date]   admin, newest first
  resend-mail <key>                               once more, a mail refused for good (key from list failed-mails)
  (lists take --limit n and --offset n)

environment: CERTFLOW_API_URL (default http://127.0.0.1:$CERTFLOW_HTTP_PORT or :3000),
             CERTFLOW_API_TOKEN (default: from $CERTFLOW_DATA_DIR/dev-secrets.json, the role the command needs)`;

type Role = 'support' | 'admin';

interface Call {
  method: 'GET' | 'POST';
  path: string;
  body?: Record<string, unknown>;
  /** Bytes sent as they are (a certificate file), instead of a JSON body. */
  raw?: { bytes: Buffer; type: string };
  role: Role;
}

const enc = encodeURIComponent;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** `?name=value&…` from the options given, under the API's names. */
function queryOf(options: Record<string, string | boolean | undefined>, names: Record<string, string>): string {
  const query = new URLSearchParams();
  for (const [option, name] of Object.entries(names)) {
    const value = options[option];
    if (value !== undefined && value !== false) query.set(name, String(value));
  }
  return query.size ? `?${query}` : '';
}

const PAGE = { limit: 'limit', offset: 'offset' };

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
      if (a === 'timeline') return { method: 'GET', path: `/users/${enc(need(b, '<userId>'))}/timeline`, role: 'support' };
      return fail(`show: say "user", "request" or "timeline"\n\n${USAGE}`);
    case 'search':
      return { method: 'GET', path: `/search${queryOf({ ...options, text: need(a, '<text>') }, { text: 'text', field: 'field', status: 'status', profile: 'profile', ...PAGE })}`, role: 'support' };
    case 'diagnose': {
      const file = need(a, '<file>');
      const bytes = fs.existsSync(file) ? fs.readFileSync(file) : fail(`diagnose: no file ${file}`);
      return { method: 'POST', path: '/diagnose', raw: { bytes, type: 'application/octet-stream' }, role: 'support' };
    }
    case 'resend-mail':
      return { method: 'POST', path: `/mails/${enc(need(a, '<key>'))}/resend`, role: 'support' };
    case 'list': {
      if (a === 'failed-mails') return { method: 'GET', path: '/mails/failed', role: 'admin' };
      if (a === 'expiring' || a === 'awaiting-retrieval') {
        const where = a === 'expiring' ? '/certificates/expiring' : '/requests/awaiting-retrieval';
        return { method: 'GET', path: `${where}${queryOf({ ...options, days: need(options.days, '--days') }, { days: 'days', profile: 'profile', ...PAGE })}`, role: 'support' };
      }
      if (a === 'audit') {
        const names = { agent: 'agent', action: 'action', target: 'target', 'target-prefix': 'targetPrefix', from: 'from', to: 'to', ...PAGE };
        return { method: 'GET', path: `/audit${queryOf(options, names)}`, role: 'admin' };
      }
      if (a !== 'certificates') return fail(`list: say "certificates", "failed-mails", "expiring", "awaiting-retrieval" or "audit"\n\n${USAGE}`);
      const query = new URLSearchParams();
      if (options.status) query.set('status', options.status);
      if (options.profile) query.set('profile', options.profile);
      if (options['expiring-before']) query.set('expiringBefore', options['expiring-before']);
      return { method: 'GET', path: `/certificates${query.size ? `?${query}` : ''}`, role: 'admin' };
    }
    default:
      return fail(USAGE);
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
    options: {
      profile: { type: 'string' },
      reason: { type: 'string' },
      status: { type: 'string' },
      'expiring-before': { type: 'string' },
      field: { type: 'string' },
      days: { type: 'string' },
      agent: { type: 'string' },
      action: { type: 'string' },
      target: { type: 'string' },
      'target-prefix': { type: 'boolean' },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      offset: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const call = callFor(positionals, values as Record<string, string | undefined>);
  const baseUrl = (process.env.CERTFLOW_API_URL ?? `http://127.0.0.1:${process.env.CERTFLOW_HTTP_PORT ?? 3000}`).replace(/\/$/, '');
  const token = process.env.CERTFLOW_API_TOKEN ?? devToken(call.role) ?? fail('no token: set CERTFLOW_API_TOKEN');
  const res = await fetch(`${baseUrl}/api/v1${call.path}`, {
    method: call.method,
    headers: { authorization: `Bearer ${token}`, ...(call.raw ? { 'content-type': call.raw.type } : call.body ? { 'content-type': 'application/json' } : {}) },
    body: call.raw ? call.raw.bytes : call.body ? JSON.stringify(call.body) : undefined,
  }).catch((err: Error) => fail(`cannot reach ${baseUrl}: ${(err.cause as Error | undefined)?.message ?? err.message}`));
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const e = body as { message?: string; field?: string } | undefined;
    process.stderr.write(`HTTP ${res.status}: ${e?.message ?? text}${e?.field ? ` (field ${e.field})` : ''}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
}

void main();
