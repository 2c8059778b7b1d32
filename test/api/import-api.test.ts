// Bulk registration through the support API and the CLI, end to end on the dev server: upload, validation report,
// the import workflow registering through the real registration (workflows, mails), progress, the same file again.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { csvLine, HEADER, usersCsv } from '../imports/support';
import { eventually, startApiStack, type ApiStack } from './stack';

describe('bulk registration through the API on sqlite', () => {
  let stack: ApiStack;

  beforeAll(async () => {
    stack = await startApiStack('imports', { database: 'sqlite' });
  }, 180_000);
  afterAll(async () => { await stack?.close(); });

  const upload = (file: Buffer | string, { query = '', token = stack.tokens.admin, contentType = 'text/csv', kind = 'users' } = {}) =>
    stack.call('POST', `/api/v1/imports/${kind}${query}`, { token, raw: file, contentType });
  const count = async (table: string) => Number((await stack.runtime.db(table).count({ n: '*' }))[0]!.n);
  const finished = (importId: string) =>
    eventually(async () => {
      const res = await stack.call('GET', `/api/v1/imports/${importId}`);
      return res.body?.progress?.status === 'finished' && res.body;
    }, `import ${importId} to finish`, 120_000);

  it('when a Shift_JIS file from Excel has a bad line, then 200 lists it by line and field and nobody is registered; with registerValidLines the rest are, with their mails', async () => {
    const text = [
      HEADER,
      csvLine({ userId: 'imp001', organization: '株式会社サンプル', organizationalUnits: '営業一課;営業部' }),
      csvLine({ userId: 'imp002', email: 'not-an-address', organizationalUnits: '' }),
      '',
      csvLine({ userId: 'imp003', organization: '株式会社サンプル', subscriberId: 'S,"003"' }),
    ].join('\r\n');
    const file = iconv.encode(text, 'Shift_JIS');
    const users = await count('users');

    const report = await upload(file);
    expect(report.status).toBe(200);
    expect(report.body).toEqual({
      importId: expect.stringMatching(/^users-[0-9a-f]{64}$/),
      started: false,
      report: {
        encoding: 'shift_jis',
        total: 3,
        valid: 2,
        refused: 1,
        refusedLines: [{ line: 3, label: 'imp002 (kdanshinnet)', errors: [{ field: 'email', message: 'must be an ASCII e-mail address' }, { field: 'organizationalUnits', message: 'must list at least one unit' }] }],
      },
    });
    expect(await count('users')).toBe(users);

    const started = await upload(file, { query: '?registerValidLines=true' });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ importId: report.body.importId, started: true, existing: false, progress: { total: 3, refused: 1 } });
    const view = await finished(started.body.importId);
    expect(view.progress).toMatchObject({ status: 'finished', total: 3, refused: 1, done: 2, failed: 0, remaining: 0, percent: 100 });
    expect(view.failures).toEqual([{ line: 3, label: 'imp002 (kdanshinnet)', status: 'refused', errors: expect.any(Array) }]);

    const registered = await stack.call('GET', '/api/v1/users/imp001');
    expect(registered.body[0]).toMatchObject({ organization: '株式会社サンプル', organizationalUnits: ['営業一課', '営業部'] });
    expect((await stack.call('GET', '/api/v1/users/imp003')).body[0].subscriberId).toBe('S,"003"');
    expect((await stack.call('GET', '/api/v1/users/imp002')).status).toBe(404);
    const [notice] = await stack.mailsTo('id-admin@bank.example.co.jp', 2);
    expect(notice!.parsed.text).toMatch(/imp00[13]/);
    await stack.mailsTo('imp001@bank.example.co.jp', 2);

    const audit = await stack.runtime.stores.audit.list({ target: `import:${started.body.importId}` });
    expect(audit.map((e) => [e.action, e.agent, e.outcome, e.detail?.started])).toEqual([
      ['importFile', 'admin-sato', 'ok', false],
      ['importFile', 'admin-sato', 'ok', true],
    ]);

    // The same file again is the same import: its progress, nobody registered twice.
    const again = await upload(file, { query: '?registerValidLines=true' });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ importId: started.body.importId, existing: true, progress: { status: 'finished', done: 2 } });
    expect(await count('users')).toBe(users + 2);
  });

  it('when the upload is not what is expected, then a clear 4xx names the problem and nothing is kept', async () => {
    const imports = await count('imports');
    const cases: Array<[Parameters<typeof upload>, number, Record<string, unknown>]> = [
      [['userId,email\nx,y\n'], 400, { field: 'header' }],
      [[`${HEADER}\n"imp100,kdanshinnet\n`], 400, { field: 'file' }],
      [[`${HEADER}\n`], 400, { field: 'file' }],
      [[Buffer.from([0x82, 0xa0, 0xff, 0xfe, 0x80])], 400, { field: 'file' }],
      [[usersCsv([{ userId: 'imp101' }]), { kind: 'printers' }], 400, { field: 'kind' }],
      [[usersCsv([{ userId: 'imp102' }]), { query: '?registerValidLines=yes' }], 400, { field: 'registerValidLines' }],
      [[usersCsv([{ userId: 'imp103' }]), { contentType: 'text/plain' }], 415, { error: 'unsupported_media_type' }],
      [[Buffer.alloc(5 * 1024 * 1024 + 1, 0x41)], 413, {}],
      [[usersCsv([{ userId: 'imp104' }]), { token: stack.tokens.support }], 403, { error: 'forbidden' }],
    ];
    for (const [args, status, body] of cases) {
      const res = await upload(...args);
      expect({ args: String(args[0]).slice(0, 40), status: res.status }).toEqual({ args: String(args[0]).slice(0, 40), status });
      expect(res.body).toMatchObject(body);
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts/);
    }
    expect(await count('imports')).toBe(imports);
    expect((await stack.call('GET', `/api/v1/imports/users-${'0'.repeat(64)}`)).status).toBe(404);
    expect((await stack.call('GET', '/api/v1/imports/nonsense')).body).toMatchObject({ field: 'importId' });
  });

  it('when an operator imports from the CLI, then it prints the report, refuses without --register-valid-lines, and with it follows the progress to the end', async () => {
    const file = path.join(stack.dataDir, 'users.csv');
    fs.writeFileSync(file, `\uFEFF${usersCsv([{ userId: 'cli001' }, { userId: 'cli 002' }, { userId: 'cli003', profile: 'nissay' }])}`);
    const cli = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          path.resolve(__dirname, '../../node_modules/.bin/tsx'),
          [path.resolve(__dirname, '../../scripts/certflow-cli.ts'), ...args],
          { env: { ...process.env, CERTFLOW_API_URL: stack.baseUrl, CERTFLOW_API_TOKEN: stack.tokens.admin } },
          (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
        );
      });

    const refused = await cli(['import', 'users', file]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('users.csv: 3 lines (utf-8-bom), 2 valid, 1 refused');
    expect(refused.stdout).toContain('line 3 (cli 002 (kdanshinnet)): userId: must be 1 to 64 letters');
    expect(refused.stdout).toContain('--register-valid-lines to register the 2 valid lines');

    const done = await cli(['import', 'users', file, '--register-valid-lines']);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/Import users-[0-9a-f]{64} started/);
    expect(done.stdout).toContain('100%  2 registered, 0 failed, 0 remaining');
    expect(done.stdout).toContain('Done: 2 registered, 0 failed, 1 refused at validation.');
    expect((await stack.call('GET', '/api/v1/users/cli003')).body[0].profile).toBe('nissay');

    const again = await cli(['import', 'users', file]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('This file was imported before');
  });
});
