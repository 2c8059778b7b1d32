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
  operator add <agentId> --role support|admin --email a   admin; starts the operator's certificate enrollment by mail
  operator disable <agentId>                      admin; disables the operator and revokes their certificate at once
  operator list                                   admin
  operator password-reset <requestId>             admin; new enrollment password for an operator's request
  import users <file.csv> [--register-valid-lines]                                admin; bulk registration:
      header userId,profile,email,idAdminEmail,organization,organizationalUnits,subscriberId
      (units most specific first, separated by ";"), UTF-8 with or without BOM or Shift_JIS, at most 5 MB;
      prints the validation report, then the progress until done. A file with refused lines registers nobody
      unless --register-valid-lines is given; the same file again shows its import's progress

bootstrap: on a fresh install, add the first admin with the admin token from the configuration
           (var/dev-secrets.json under npm start): npm run cli -- operator add admin01 --role admin --email …

environment: CERTFLOW_API_URL (default http://127.0.0.1:$CERTFLOW_HTTP_PORT or :3000),
             CERTFLOW_API_TOKEN (default: from $CERTFLOW_DATA_DIR/dev-secrets.json, the role the command needs)`;

type Role = 'support' | 'admin';

interface Call {
  method: 'GET' | 'POST';
  path: string;
  body?: Record<string, unknown>;
  role: Role;
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
    case 'operator':
      if (a === 'add') {
        return { method: 'POST', path: '/operators', body: { agentId: need(b, '<agentId>'), role: need(options.role, '--role'), email: need(options.email, '--email') }, role: 'admin' };
      }
      if (a === 'disable') return { method: 'POST', path: `/operators/${enc(need(b, '<agentId>'))}/disable`, role: 'admin' };
      if (a === 'list') return { method: 'GET', path: '/operators', role: 'admin' };
      if (a === 'password-reset') return { method: 'POST', path: `/operators/requests/${enc(need(b, '<requestId>'))}/password-reset`, role: 'admin' };
      return fail(`operator: say "add", "disable", "list" or "password-reset"\n\n${USAGE}`);
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

/** One call of the API; an error answer is printed and exits 1. */
async function request(call: Call & { raw?: { contentType: string; bytes: Buffer } }): Promise<{ status: number; body: any }> {
  const baseUrl = (process.env.CERTFLOW_API_URL ?? `http://127.0.0.1:${process.env.CERTFLOW_HTTP_PORT ?? 3000}`).replace(/\/$/, '');
  const token = process.env.CERTFLOW_API_TOKEN ?? devToken(call.role) ?? fail('no token: set CERTFLOW_API_TOKEN');
  const contentType = call.raw?.contentType ?? (call.body ? 'application/json' : undefined);
  const res = await fetch(`${baseUrl}/api/v1${call.path}`, {
    method: call.method,
    headers: { authorization: `Bearer ${token}`, ...(contentType ? { 'content-type': contentType } : {}) },
    body: call.raw?.bytes ?? (call.body ? JSON.stringify(call.body) : undefined),
  }).catch((err: Error) => fail(`cannot reach ${baseUrl}: ${(err.cause as Error | undefined)?.message ?? err.message}`));
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const e = body as { message?: string; field?: string } | undefined;
    process.stderr.write(`HTTP ${res.status}: ${e?.message ?? text}${e?.field ? ` (field ${e.field})` : ''}\n`);
    process.exit(1);
  }
  return { status: res.status, body };
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
async function importFile(kind: string | undefined, file: string | undefined, registerValidLines: boolean): Promise<void> {
  if (!kind || !file) fail(`import: say the kind and the file, e.g. import users users.csv\n\n${USAGE}`);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    fail(`import: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const query = registerValidLines ? '?registerValidLines=true' : '';
  const { body } = await request({ method: 'POST', path: `/imports/${enc(kind)}${query}`, role: 'admin', raw: { contentType: 'text/csv', bytes } });
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
    const { body: view } = await request({ method: 'GET', path: `/imports/${enc(importId)}`, role: 'admin' });
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

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      profile: { type: 'string' },
      reason: { type: 'string' },
      status: { type: 'string' },
      role: { type: 'string' },
      email: { type: 'string' },
      'expiring-before': { type: 'string' },
      'register-valid-lines': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positionals[0] === 'import') return importFile(positionals[1], positionals[2], values['register-valid-lines'] === true);
  const call = callFor(positionals, values as Record<string, string | undefined>);
  const { body } = await request(call);
  process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
}

void main();
