// `npm run cli -- audit verify` against a running API: the audited calls' chain verifies; after a row is edited in the
// database, the command exits 3 naming that row, and the API's answer says the same.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { DATABASE_KINDS } from '../support/databases';
import { registration, startApiStack, type ApiStack } from './stack';

const root = path.resolve(__dirname, '../..');

describe.each(DATABASE_KINDS)('audit verify on %s', (database) => {
  let stack: ApiStack;
  beforeAll(async () => {
    stack = await startApiStack('audit-verify', { database });
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
  });

  /** The CLI as an operator runs it, against this stack with the given token. */
  const cli = (token: string, ...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'scripts/certflow-cli.ts', ...args], {
        cwd: root,
        env: { ...process.env, CERTFLOW_API_URL: stack.baseUrl, CERTFLOW_API_TOKEN: token },
      }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr }));
    });

  it('when audited calls were made, then the chain verifies; when a row is edited in the database, then the command names it', async () => {
    expect((await stack.call('POST', '/api/v1/users', { body: registration('emp700') })).status).toBe(201);
    expect((await stack.call('POST', '/api/v1/users/emp701/unlock', { token: stack.tokens.support })).status).toBe(404);
    expect((await stack.call('POST', '/api/v1/users/emp700/unlock', { token: stack.tokens.support })).status).toBe(200);
    const rows = await stack.runtime.db('audit_events').orderBy('id');
    expect(rows.map((r: { action: string; outcome: string }) => `${r.action} ${r.outcome}`)).toEqual(['registerUser ok', 'unlock rejected', 'unlock ok']);

    const clean = await stack.call('GET', '/api/v1/audit/verify');
    expect(clean).toEqual({ status: 200, body: { intact: true, checked: 3, head: { id: Number(rows[2].id), hash: rows[2].hash } } });
    const ok = await cli(stack.tokens.admin, 'audit', 'verify');
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(ok.stdout)).toEqual(clean.body);

    // The refusal recorded as a success, as someone covering their tracks would.
    await stack.runtime.db('audit_events').where({ id: rows[1].id }).update({ outcome: 'ok' });
    const broken = await cli(stack.tokens.admin, 'audit', 'verify');
    expect(broken.code).toBe(3);
    expect(broken.stderr).toBe(`the audit chain is broken at row ${rows[1].id}: the row's fields do not match its hash: it was edited, or inserted without the key\n`);
    expect((await stack.call('GET', '/api/v1/audit/verify')).body).toMatchObject({ intact: false, checked: 2, firstBroken: { id: Number(rows[1].id) } });
  }, 60_000);

  it('when a support agent asks, then the verification is refused: it needs the admin role', async () => {
    expect((await stack.call('GET', '/api/v1/audit/verify', { token: stack.tokens.support })).status).toBe(403);
    expect(await cli(stack.tokens.support, 'audit', 'verify')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^HTTP 403: this action needs the admin role/) });
  }, 30_000);
});
