// certflow's support CLI: the support/admin HTTP API from a terminal, e.g. `npm run cli -- reissue emp002 --profile nissay`.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { devApiTokens } from '../worker/dev-secrets';

const USAGE = `usage: npm run cli -- <command> [arguments] [options]

  reissue <userId> [--profile p]                  revoke now, start a successor; prints the new enrollment password once
  revoke <userId> --reason r [--profile p]        admin; r is an RFC 5280 reason (keyCompromise, affiliationChanged, …)
  password-reset <requestId>                      new enrollment password for a request awaiting key retrieval
  new-request <userId> [--profile p]              fresh request after an expired request or a revoked/expired certificate
  unlock <userId>                                 clear failed logins and the wait before the next login
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
  operator add <agentId> --role support|admin --email a   admin; starts the operator's certificate enrollment by mail
  operator disable <agentId>                      admin; disables the operator and revokes their certificate at once
  operator list                                   admin
  operator password-reset <requestId>             admin; new enrollment password for an operator's request
  audit verify                                    admin; checks the audit trail's hash chain; exit 3 naming the first broken row
  ca trust-previous <profile> <ca.pem> [--crl file]   admin; a previous CA of the profile (migration import), with its CRL (PEM or DER)
  ca previous [--profile p]                           admin; the previous CAs and their CRLs
  import users <file.csv> [--register-valid-lines]                                admin; bulk registration:
      header userId,profile,email,idAdminEmail,organization,organizationalUnits,subscriberId
      (units most specific first, separated by ";"), UTF-8 with or without BOM or Shift_JIS, at most 5 MB;
      prints the validation report, then the progress until done. A file with refused lines registers nobody
      unless --register-valid-lines is given; the same file again shows its import's progress
  import certificates <file.csv> [--register-valid-lines]                         admin; migration import: the users
      columns and certificatePem (each line a certificate of a previous CA: ca trust-previous first), same report,
      progress and idempotence

bootstrap: on a fresh install, add the first admin with the admin token from the configuration
           (var/dev-secrets.json under npm start): npm run cli -- operator add admin01 --role admin --email …

environment: CERTFLOW_API_URL (default http://127.0.0.1:$CERTFLOW_HTTP_PORT or :3000),
             CERTFLOW_API_TOKEN (default: from $CERTFLOW_DATA_DIR/dev-secrets.json, the role the command needs)`;

type Role = 'support' | 'admin';

interface Call {
  /** The operation in the API's OpenAPI document, which also says the role it needs. */
  operationId: string;
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  body?: Record<string, unknown>;
  /** Bytes sent as they are (a certificate file, a CRL), instead of a JSON body. */
  raw?: { bytes: Buffer; type: string };
  /** Made with the answer of this call, e.g. the CRL of the CA just registered. */
  then?: (answer: unknown) => Call;
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
      return { operationId: 'reissue', method: 'POST', path: `/users/${enc(need(a, '<userId>'))}/reissue`, body: profile };
    case 'revoke':
      return { operationId: 'revoke', method: 'POST', path: `/users/${enc(need(a, '<userId>'))}/revoke`, body: { reason: need(options.reason, '--reason'), ...profile } };
    case 'password-reset':
      return { operationId: 'passwordReset', method: 'POST', path: `/requests/${enc(need(a, '<requestId>'))}/password-reset` };
    case 'new-request':
      return { operationId: 'newRequest', method: 'POST', path: `/users/${enc(need(a, '<userId>'))}/new-request`, body: profile };
    case 'unlock':
      return { operationId: 'unlock', method: 'POST', path: `/users/${enc(need(a, '<userId>'))}/unlock` };
    case 'show':
      if (a === 'user') return { operationId: 'getUser', method: 'GET', path: `/users/${enc(need(b, '<userId>'))}${options.profile ? `?profile=${enc(options.profile)}` : ''}` };
      if (a === 'request') return { operationId: 'getRequest', method: 'GET', path: `/requests/${enc(need(b, '<requestId>'))}` };
      if (a === 'timeline') return { operationId: 'userTimeline', method: 'GET', path: `/users/${enc(need(b, '<userId>'))}/timeline` };
      return fail(`show: say "user", "request" or "timeline"\n\n${USAGE}`);
    case 'search':
      return { operationId: 'searchRequests', method: 'GET', path: `/search${queryOf({ ...options, text: need(a, '<text>') }, { text: 'text', field: 'field', status: 'status', profile: 'profile', ...PAGE })}` };
    case 'diagnose': {
      const bytes = readFile(need(a, '<file>'));
      // PEM or DER alike: the route reads either from bytes.
      return { operationId: 'diagnoseCertificate', method: 'POST', path: '/diagnose', raw: { bytes, type: 'application/octet-stream' } };
    }
    case 'resend-mail':
      return { operationId: 'resendMail', method: 'POST', path: `/mails/${enc(need(a, '<key>'))}/resend` };
    case 'list': {
      if (a === 'failed-mails') return { operationId: 'listFailedMails', method: 'GET', path: '/mails/failed' };
      if (a === 'expiring' || a === 'awaiting-retrieval') {
        const [operationId, where] = a === 'expiring' ? (['listExpiringCertificates', '/certificates/expiring'] as const) : (['listAwaitingRetrieval', '/requests/awaiting-retrieval'] as const);
        return { operationId, method: 'GET', path: `${where}${queryOf({ ...options, days: need(options.days, '--days') }, { days: 'days', profile: 'profile', ...PAGE })}` };
      }
      if (a === 'audit') {
        const names = { agent: 'agent', action: 'action', target: 'target', 'target-prefix': 'targetPrefix', from: 'from', to: 'to', ...PAGE };
        return { operationId: 'listAuditTrail', method: 'GET', path: `/audit${queryOf(options, names)}` };
      }
      if (a !== 'certificates') return fail(`list: say "certificates", "failed-mails", "expiring", "awaiting-retrieval" or "audit"\n\n${USAGE}`);
      const query = new URLSearchParams();
      if (options.status) query.set('status', options.status);
      if (options.profile) query.set('profile', options.profile);
      if (options['expiring-before']) query.set('expiringBefore', options['expiring-before']);
      return { operationId: 'listCertificates', method: 'GET', path: `/certificates${query.size ? `?${query}` : ''}` };
    }
    case 'operator':
      if (a === 'add') {
        return { operationId: 'addOperator', method: 'POST', path: '/operators', body: { agentId: need(b, '<agentId>'), role: need(options.role, '--role'), email: need(options.email, '--email') } };
      }
      if (a === 'disable') return { operationId: 'disableOperator', method: 'POST', path: `/operators/${enc(need(b, '<agentId>'))}/disable` };
      if (a === 'list') return { operationId: 'listOperators', method: 'GET', path: '/operators' };
      if (a === 'password-reset') return { operationId: 'operatorPasswordReset', method: 'POST', path: `/operators/requests/${enc(need(b, '<requestId>'))}/password-reset` };
      return fail(`operator: say "add", "disable", "list" or "password-reset"\n\n${USAGE}`);
    case 'audit':
      if (a === 'verify') return { operationId: 'verifyAuditChain', method: 'GET', path: '/audit/verify' };
      return fail(`audit: say "verify"\n\n${USAGE}`);
    case 'ca': {
      if (a === 'previous') return { operationId: 'listPreviousCas', method: 'GET', path: `/previous-cas${queryOf(options, { profile: 'profile' })}` };
      if (a !== 'trust-previous') return fail(`ca: say "trust-previous" or "previous"\n\n${USAGE}`);
      const profile = need(b, '<profile>');
      const certificatePem = readFile(need(positionals[3], '<ca.pem>'));
      const crl = options.crl === undefined ? undefined : readFile(options.crl);
      return {
        operationId: 'trustPreviousCa',
        method: 'POST',
        path: '/previous-cas',
        body: { profile, certificatePem: certificatePem.toString('utf8') },
        ...(crl && {
          then: (ca: unknown) => ({
            operationId: 'setPreviousCaCrl',
            method: 'PUT' as const,
            path: `/previous-cas/${enc(profile)}/${(ca as { fingerprint: string }).fingerprint}/crl`,
            raw: { bytes: crl, type: crl.subarray(0, 11).toString('latin1') === '-----BEGIN ' ? 'application/x-pem-file' : 'application/pkix-crl' },
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
    return fail(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The role an operation needs, as the API's own document (GET /api/v1/openapi.json, no token) states it. */
async function roleOf(baseUrl: string, operationId: string): Promise<Role> {
  const res = await fetch(`${baseUrl}/api/v1/openapi.json`).catch((err: Error) => fail(`cannot reach ${baseUrl}: ${(err.cause as Error | undefined)?.message ?? err.message}`));
  const document = (await res.json()) as { paths: Record<string, Record<string, { operationId?: string; 'x-certflow-role'?: Role }>> };
  const operation = Object.values(document.paths).flatMap((item) => Object.values(item)).find((op) => op.operationId === operationId);
  return operation?.['x-certflow-role'] ?? fail(`the API at ${baseUrl} has no operation ${operationId}`);
}

/** For local use: the dev token of the role the command needs, as `npm start` generated it. */
async function devToken(baseUrl: string, operationId: string): Promise<string | undefined> {
  const file = path.join(path.resolve(process.env.CERTFLOW_DATA_DIR ?? 'var'), 'dev-secrets.json');
  if (!fs.existsSync(file)) return undefined;
  const tokens = devApiTokens(file);
  const role = await roleOf(baseUrl, operationId);
  return (tokens.find((t) => t.role === role) ?? tokens.find((t) => t.role === 'admin'))?.token;
}

interface FieldProblem { field: string; message: string }
interface Report { encoding: string; total: number; valid: number; refused: number; refusedLines: Array<{ line: number; label?: string; errors: FieldProblem[] }> }
interface Progress { status: 'running' | 'finished'; total: number; refused: number; done: number; failed: number; remaining: number; percent: number }

const lineName = (l: { line: number; label?: string }) => `line ${l.line}${l.label ? ` (${l.label})` : ''}`;
const problems = (errors: FieldProblem[]) => errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');

function progressText(p: Progress): string {
  return `${p.percent}%  ${p.done} registered, ${p.failed} failed, ${p.remaining} remaining`;
}

/** `import <kind> <file>`: the validation report, then the progress (a bar on a terminal, a line per step otherwise). */
async function importFile(baseUrl: string, token: string, kind: string | undefined, file: string | undefined, registerValidLines: boolean): Promise<void> {
  if (!kind || !file) fail(`import: say the kind and the file, e.g. import users users.csv\n\n${USAGE}`);
  const bytes = readFile(file);
  const query = registerValidLines ? '?registerValidLines=true' : '';
  const body = await send(baseUrl, token, importCall(`/imports/${enc(kind)}${query}`, bytes));
  const { importId, started, existing, report } = body as { importId: string; started: boolean; existing?: boolean; report: Report };
  const out = process.stdout;
  out.write(`${path.basename(file)}: ${report.total} lines (${report.encoding}), ${report.valid} valid, ${report.refused} refused\n`);
  for (const l of report.refusedLines) out.write(`  ${lineName(l)}: ${problems(l.errors)}\n`);
  if (!started) {
    out.write(report.valid === 0
      ? 'Nothing to register: no line is valid.\n'
      : `Nothing was registered. Correct the lines above, or run again with --register-valid-lines to register the ${report.valid} valid lines.\n`);
    process.exit(1);
  }
  out.write(existing ? `This file was imported before: import ${importId}\n` : `Import ${importId} started\n`);

  const tty = out.isTTY === true;
  let last = '';
  for (;;) {
    const view = await send(baseUrl, token, { operationId: 'getImport', method: 'GET', path: `/imports/${enc(importId)}` });
    const p = (view as { progress: Progress }).progress;
    const text = progressText(p);
    if (tty) {
      const width = 30;
      const filled = Math.round((p.percent / 100) * width);
      out.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K`);
    } else if (text !== last) {
      out.write(`${text}\n`);
    }
    last = text;
    if (p.status === 'finished') {
      if (tty) out.write('\n');
      const failed = (view as { failures: Array<{ line: number; label?: string; status: string; errors: FieldProblem[] }> }).failures.filter((f) => f.status === 'failed');
      for (const f of failed) out.write(`  ${lineName(f)} failed: ${problems(f.errors)}\n`);
      out.write(`Done: ${p.done} registered, ${p.failed} failed, ${p.refused} refused at validation.\n`);
      process.exit(p.failed > 0 ? 1 : 0);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** The upload of an import file: the raw bytes, whatever their encoding. */
const importCall = (path: string, bytes: Buffer): Call => ({ operationId: 'importFile', method: 'POST', path, raw: { bytes, type: 'text/csv' } });

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      profile: { type: 'string' },
      reason: { type: 'string' },
      role: { type: 'string' },
      email: { type: 'string' },
      crl: { type: 'string' },
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
      'register-valid-lines': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const importing = positionals[0] === 'import';
  let call: Call | undefined = importing ? undefined : callFor(positionals, values as Record<string, string | undefined>);
  const baseUrl = (process.env.CERTFLOW_API_URL ?? `http://127.0.0.1:${process.env.CERTFLOW_HTTP_PORT ?? 3000}`).replace(/\/$/, '');
  const token = process.env.CERTFLOW_API_TOKEN ?? (await devToken(baseUrl, call?.operationId ?? 'importFile')) ?? fail('no token: set CERTFLOW_API_TOKEN');
  if (importing) return importFile(baseUrl, token, positionals[1], positionals[2], values['register-valid-lines'] === true);
  while (call) {
    const body = await send(baseUrl, token, call);
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    const chain = call.operationId === 'verifyAuditChain' ? (body as { intact: boolean; firstBroken?: { id: number; problem: string } }) : undefined;
    if (chain && !chain.intact) {
      // A distinct exit status, so a scheduled check can alert on a broken chain rather than on a failed call.
      process.stderr.write(`the audit chain is broken at row ${chain.firstBroken?.id}: ${chain.firstBroken?.problem}\n`);
      process.exit(3);
    }
    call = call.then?.(body);
  }
}

/** One call of the API; an error answer is printed and exits 1. */
async function send(baseUrl: string, token: string, call: Call): Promise<unknown> {
  const res = await fetch(`${baseUrl}/api/v1${call.path}`, {
    method: call.method,
    headers: { authorization: `Bearer ${token}`, ...(call.raw ? { 'content-type': call.raw.type } : call.body ? { 'content-type': 'application/json' } : {}) },
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
