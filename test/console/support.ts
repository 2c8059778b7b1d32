// A certflow for a console test file (the web harness plus API tokens), the operator CLI, and certificates obtained the
// real way: operator add → password and guide mails → 鍵の取得 and Download on the enrollment pages → a .p12.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { supportApiDocument } from '../../api/support/router';
import { statusQuery } from '../../workflows/definitions';
import { createContractRecorder, type ContractRecorder } from '../api/contract-recorder';
import { Visitor } from '../web/visitor';
import { readEnrollmentMails, registerUser, startWebHarness, waitFor, type WebHarness, type WebHarnessOptions } from '../web/harness';

export interface ConsoleHarness extends WebHarness {
  tokens: { admin: string; support: string };
  /** `npm run cli -- …` against this certflow's HTTP API. */
  cli(args: string[], token?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** One call of the support API (admin token by default), its answer checked against the OpenAPI document. */
  api(method: string, urlPath: string, options?: { token?: string; body?: unknown }): Promise<{ status: number; body: any }>;
  /** The answers `api` received; `assertExercised(__filename)` in afterAll. */
  contract: ContractRecorder;
}

export async function startConsoleHarness(options: WebHarnessOptions = {}): Promise<ConsoleHarness> {
  const tokens = { admin: crypto.randomBytes(24).toString('base64url'), support: crypto.randomBytes(24).toString('base64url') };
  const h = await startWebHarness(options, {
    CERTFLOW_API_TOKENS: JSON.stringify([
      { token: tokens.admin, role: 'admin', agent: 'bootstrap-admin' },
      { token: tokens.support, role: 'support', agent: 'api-support' },
    ]),
    CERTFLOW_TEMPORAL_UI_URL: 'http://temporal-ui.example:8233',
  });
  const cli = (args: string[], token = tokens.admin) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        path.resolve(__dirname, '../../node_modules/.bin/tsx'),
        [path.resolve(__dirname, '../../scripts/certflow-cli.ts'), ...args],
        { env: { ...process.env, CERTFLOW_API_URL: h.httpUrl, CERTFLOW_API_TOKEN: token } },
        (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
      );
    });
  const contract = createContractRecorder(supportApiDocument());
  const api = async (method: string, urlPath: string, { token = tokens.admin, body }: { token?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const res = await fetch(`${h.httpUrl}/api/v1${urlPath}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    contract.record(method, `/api/v1${urlPath}`, res.status, res.headers.get('content-type'), text);
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return Object.assign(h, { tokens, cli, api, contract });
}

export interface Obtained {
  userId: string;
  requestId: string;
  workflowId: string;
  pkcs12: Buffer;
  passphrase: string;
  serial: string;
}

/** Reads the two enrollment mails, logs in, retrieves the key and downloads the .p12 on the enrollment pages; waits for active. */
export async function retrieveOverHttp(h: WebHarness, who: { userId: string; email: string; profile: string; workflowId: string }): Promise<Obtained> {
  const mails = await readEnrollmentMails(h, { ...who, profile: who.profile as never, requestId: '' });
  const v = new Visitor(h.httpUrl);
  const login = await v.login(who.profile, who.userId, mails.password);
  if (login.status !== 303) throw new Error(`login of ${who.userId} answered ${login.status}: ${login.body.slice(0, 300)}`);
  const passphrase = `P12-${who.userId}-pass`;
  const key = `/enroll/${who.profile}/key`;
  const submitted = await v.post(key, { formToken: await v.token(key), requestId: mails.requestId, password: passphrase, passwordConfirmation: passphrase });
  if (submitted.status !== 303) throw new Error(`鍵の取得 of ${who.userId} answered ${submitted.status}: ${submitted.body.slice(0, 300)}`);
  const download = `/enroll/${who.profile}/download`;
  const file = await v.post(download, { formToken: await v.token(download) });
  const pkcs12 = Buffer.from(await file.res.arrayBuffer());
  const handle = h.env.client.workflow.getHandle(who.workflowId);
  const active = await waitFor(async () => {
    const s = await handle.query(statusQuery);
    return s.state === 'active' ? s : undefined;
  }, `${who.userId}'s certificate to become active`);
  return { userId: who.userId, requestId: mails.requestId, workflowId: who.workflowId, pkcs12, passphrase, serial: active.serial! };
}

/** `operator add` through the CLI, then the operator's own enrollment. */
export async function enrollOperator(h: ConsoleHarness, agentId: string, role: 'support' | 'admin'): Promise<Obtained> {
  const email = `${agentId}@certflow-ops.example.jp`;
  const added = await h.cli(['operator', 'add', agentId, '--role', role, '--email', email]);
  if (added.code !== 0) throw new Error(`operator add ${agentId}: ${added.stderr}`);
  const { workflowId } = JSON.parse(added.stdout) as { workflowId: string };
  return retrieveOverHttp(h, { userId: agentId, email, profile: 'operators', workflowId });
}

/** A portal user registered and holding an active certificate. */
export async function activeUser(h: WebHarness, userId: string): Promise<Obtained & { email: string }> {
  const user = await registerUser(h, userId);
  return { ...(await retrieveOverHttp(h, user)), email: user.email };
}
