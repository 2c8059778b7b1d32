// The console's imports in Chromium, with an admin's operator certificate obtained the real way. Bulk registration:
// upload an Excel Shift_JIS file of 1,000 lines, read the report by line and field (nobody registered), confirm
// "register the valid lines", restart the worker mid-import, follow the progress to 100 % — a reload shows the same —,
// each valid user registered once with its real certificate workflow (about 2 minutes on a loaded 2-core machine), and
// the same file again leads to the same import.
// Migration import: a certificates file of a previous CA, active at once; one of them renews over TLS with the
// imported certificate, which the portal gate refuses.
import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { CERTIFICATE_IMPORT_COLUMNS } from '../../domain';
import { statusQuery } from '../../workflows/definitions';
import { ensureBrowserTools, importPkcs12, installAutoSelectPolicies, launchChromium, type TestBrowser } from '../web/browser';
import { formTokenOf, registerUser, tlsBrowser, tlsRequest, waitFor } from '../web/harness';
import { csvLine, HEADER, type UserLine } from '../imports/support';
import { createTestPreviousCa } from '../support/previous-ca';
import { enrollOperator, startConsoleHarness, type ConsoleHarness, type Obtained } from './support';

const artifacts = path.resolve(__dirname, '../artifacts/console');
const DAY = 86_400_000;

describe('imports in the console (Chromium): bulk registration and the migration import', () => {
  let h: ConsoleHarness;
  let chrome: TestBrowser;
  let removePolicy: () => void;
  let admin: Obtained;

  beforeAll(async () => {
    ensureBrowserTools();
    fs.mkdirSync(artifacts, { recursive: true });
    // The bulk registration restarts the worker mid-import (see WebHarnessOptions.restartableWorker).
    h = await startConsoleHarness({ restartableWorker: true });
    admin = await enrollOperator(h, 'admin02', 'admin');
    removePolicy = installAutoSelectPolicies([{ url: h.tlsUrl, issuerCommonName: h.runtime.profiles.operators.caCommonName, subjectCommonName: 'admin02' }]);
    chrome = await launchChromium();
    const file = path.join(h.dir, 'admin02.p12');
    fs.writeFileSync(file, admin.pkcs12);
    importPkcs12(chrome.nssDb, file, admin.passphrase);
  }, 180_000);

  afterAll(async () => {
    await chrome?.close();
    removePolicy?.();
    await h?.close();
  });

  it('when an admin uploads 1,000 lines with bad ones of several kinds, then the report lists them by line and field and nobody is registered; confirmed, the valid lines are registered once each through a worker restart, the progress reaches 100 % and survives a reload', async () => {
    const n = 1000;
    const userIdOf = (i: number) => `bulk${String(i).padStart(4, '0')}`;
    const refused = new Map<number, string[]>(); // file line (the header is line 1) → refused fields
    const lines = Array.from({ length: n }, (_, k) => {
      const i = k + 1;
      const userId = userIdOf(i);
      const bad = (fields: string[], line: UserLine) => (refused.set(i + 1, fields), csvLine({ organization: '株式会社サンプル', ...line }));
      if (i === 7) return bad(['email'], { userId, email: 'bulk0007-at-bank' });
      if (i === 133) return bad(['organizationalUnits'], { userId, organizationalUnits: '' });
      if (i === 261) return bad(['profile'], { userId, profile: 'operators' });
      if (i === 389) return bad(['idAdminEmail', 'userId'], { userId: `bulk ${i}`, email: `bulk${i}@bank.example.co.jp`, idAdminEmail: 'nobody' });
      if (i === 517) return bad(['userId'], { userId: userIdOf(i - 1) }); // the same user and profile as the line before
      if (i === 845) return bad(['userId'], { userId }); // registered before the import
      return csvLine({ userId, organization: '株式会社サンプル', organizationalUnits: '営業一課;営業部' });
    });
    const valid = n - refused.size;
    await registerUser(h, userIdOf(845));
    const csv = path.join(h.dir, '一括登録.csv');
    fs.writeFileSync(csv, iconv.encode([HEADER, ...lines].join('\r\n') + '\r\n', 'Shift_JIS'));
    const count = async (table: 'users' | 'requests') => Number((await h.runtime.db(table).where('user_id', 'like', 'bulk%').count({ n: '*' }))[0]!.n);

    const page = await chrome.context.newPage();
    await page.goto(`${h.tlsUrl}/console/`);
    await page.click('nav >> text=CSVファイルから登録');
    await page.waitForURL(/\/console\/imports$/);
    await page.setInputFiles('#csvFile', csv);
    await page.waitForSelector('#check:not([disabled])');
    await page.click('#check');

    await expect(page.locator('h1').textContent()).resolves.toContain('検査結果');
    await expect(page.locator('#summary').textContent()).resolves.toBe(`一括登録.csv：${n}行（Shift_JIS）、正しい行 ${valid}、誤りのある行 ${refused.size}`);
    // The report's rows: a line's first error names its line number, the next ones leave it empty.
    const rows = await page.locator('table.list').first().locator('tr').evaluateAll((trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    const listed = new Map<number, string[]>();
    let current = 0;
    for (const [line, , field] of rows) {
      if (line) current = Number(line);
      listed.set(current, [...(listed.get(current) ?? []), field!].sort());
    }
    expect(listed).toEqual(refused);
    const report = (await page.locator('table.list').first().textContent())!;
    expect(report).toContain('bulk0261 (operators)');
    expect(report).toContain('repeats line 517');
    expect(report).toContain('is already registered for profile kdanshinnet');
    await page.screenshot({ path: path.join(artifacts, 'import-report.png'), fullPage: true });
    expect(await count('users')).toBe(1);

    await page.click(`button:has-text("正しい ${valid} 行を登録する")`);
    await page.waitForURL(/\/console\/imports\/users-[0-9a-f]{64}$/);
    const progressUrl = page.url();
    const importId = progressUrl.split('/').pop()!;

    // The worker is stopped while it registers and a new one takes over: the import resumes from the database.
    const atRestart = await waitFor(async () => {
      const p = (await h.runtime.stores.imports.progress(importId))!;
      return p.done >= n / 4 ? p : undefined;
    }, 'a quarter of the lines', 300_000);
    expect(atRestart.remaining).toBeGreaterThan(0);
    await h.restartWorker();

    // The page refreshes itself while the import runs.
    await page.waitForSelector('#finished', { timeout: 600_000 });
    await expect(page.locator('#percent').textContent()).resolves.toBe('100%');
    await expect(page.locator('#done').textContent()).resolves.toBe(String(valid));
    await expect(page.locator('#failed').textContent()).resolves.toBe('0');
    await expect(page.locator('#refusedCount').textContent()).resolves.toBe(String(refused.size));
    await page.screenshot({ path: path.join(artifacts, 'import-progress.png'), fullPage: true });

    // Every valid line registered exactly once: one user, one request and one certificate workflow each.
    expect(await count('users')).toBe(valid + 1);
    expect(await count('requests')).toBe(valid + 1);
    const done = await h.runtime.db('import_lines').where({ import_id: importId, status: 'done' }).select('result');
    const requests = await h.runtime.db('requests').where('user_id', 'like', 'bulk%').whereNot({ user_id: userIdOf(845) }).select('request_id', 'workflow_id');
    expect(new Set(done.map((l: { result: string }) => l.result))).toEqual(new Set(requests.map((r: { request_id: string }) => r.request_id)));
    expect(new Set(requests.map((r: { workflow_id: string }) => r.workflow_id)).size).toBe(valid);
    for (let k = 0; k < requests.length; k += 20) {
      const types = await Promise.all(requests.slice(k, k + 20).map(async (r: { workflow_id: string }) => (await h.env.client.workflow.getHandle(r.workflow_id).describe()).type));
      expect(types.every((t) => t === 'certificateWorkflow')).toBe(true);
    }

    // A reload (or another operator opening the link) reads the same progress from the database.
    await page.reload();
    await expect(page.locator('#percent').textContent()).resolves.toBe('100%');
    await expect(page.locator('#done').textContent()).resolves.toBe(String(valid));
    const failures = await page.locator('table.list').nth(1).locator('tr').evaluateAll((trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    expect(failures.map(([line]) => Number(line))).toEqual([...refused.keys()].sort((a, b) => a - b));
    expect(failures.every(([, , status]) => status === '検査で除外')).toBe(true);

    // The same file again is the same import: straight to its progress, nobody registered twice.
    await page.goto(`${h.tlsUrl}/console/imports`);
    await page.setInputFiles('#csvFile', csv);
    await page.waitForSelector('#check:not([disabled])');
    await page.click('#check');
    await page.waitForURL(progressUrl);
    expect(await count('users')).toBe(valid + 1);
    expect(await count('requests')).toBe(valid + 1);

    const trail = await h.runtime.stores.audit.list({ target: `import:${importId}` });
    expect(trail.map((e) => [e.agent, e.role, e.action, e.outcome, e.detail?.started])).toEqual([
      ['admin02', 'admin', 'importFile', 'ok', false],
      ['admin02', 'admin', 'importFile', 'ok', true],
      ['admin02', 'admin', 'importFile', 'ok', true],
    ]);
    await page.close();
  }, 900_000);

  it('when an admin imports a certificates file of the previous CA, then the certificates are active at once; one renews over TLS with its imported certificate, which the portal gate refuses', async () => {
    const previous = await createTestPreviousCa('Bank A Old Client CA');
    expect(await h.api('POST', '/previous-cas', { body: { profile: 'kdanshinnet', certificatePem: previous.certificatePem } })).toMatchObject({ status: 201 });
    // 20 days from their end in the test server's time: within the renewal window.
    const now = await h.env.currentTimeMs();
    const userIds = ['mig101', 'mig102'];
    const issued = await Promise.all(userIds.map((userId) => previous.issue({ userId, notBefore: new Date(now - 700 * DAY), notAfter: new Date(now + 20 * DAY) })));
    const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
    const lines = userIds.map((userId, i) =>
      [userId, 'kdanshinnet', `${userId}@bank.example.co.jp`, 'id-admin@bank.example.co.jp', 'sampleCompany', 'div1-1-1;div1-1;div1', `S-${userId}`, issued[i]!.certificatePem].map(quote).join(','),
    );
    const csv = path.join(h.dir, '移行.csv');
    fs.writeFileSync(csv, `${[CERTIFICATE_IMPORT_COLUMNS.join(','), ...lines].join('\r\n')}\r\n`);

    const page = await chrome.context.newPage();
    await page.goto(`${h.tlsUrl}/console/imports`);
    await page.selectOption('#kind', 'certificates');
    await page.setInputFiles('#csvFile', csv);
    await page.waitForSelector('#check:not([disabled])');
    await page.click('#check');
    // Every line valid: the import starts at once.
    await page.waitForURL(/\/console\/imports\/certificates-[0-9a-f]{64}$/);
    await page.waitForSelector('#finished', { timeout: 120_000 });
    await expect(page.locator('#kind').textContent()).resolves.toContain('既存の証明書の移行');
    await expect(page.locator('#percent').textContent()).resolves.toBe('100%');
    await expect(page.locator('#done').textContent()).resolves.toBe('2');
    await page.screenshot({ path: path.join(artifacts, 'import-certificates.png'), fullPage: true });
    await page.close();

    const user = (await h.runtime.stores.users.find('mig101', 'kdanshinnet'))!;
    // The import is done once the request is reserved and its workflow started; the workflow then projects its state.
    await waitFor(async () => (await h.runtime.stores.requests.find(user.currentRequestId!))?.status === 'active', 'the imported request recorded active');
    const request = (await h.runtime.stores.requests.find(user.currentRequestId!))!;
    expect(request).toMatchObject({ kind: 'imported', serial: issued[0]!.serial });
    expect((await h.env.client.workflow.getHandle(request.workflowId).query(statusQuery)).state).toBe('active');

    // The relying portal never admits a previous CA's certificate; the renewal pages do.
    const client = { key: issued[0]!.keyPem, cert: issued[0]!.certificatePem };
    expect(await tlsRequest(h, '/portal/kdanshinnet/', client)).toMatchObject({ status: 403, body: 'forbidden' });
    const browse = tlsBrowser(h, client);
    const apply = await browse('/renew/kdanshinnet/apply');
    expect(apply.status).toBe(200);
    expect(apply.body).toContain('mig101');
    const submitted = await browse('/renew/kdanshinnet/apply', { formToken: formTokenOf(apply.body) });
    expect(submitted.status).toBe(303);
    const successorRequestId = /\/processing\/(\d{15})$/.exec(String(submitted.headers.location))?.[1];
    const keyPath = await waitFor(async () => {
      const res = await browse(`/renew/kdanshinnet/processing/${successorRequestId}`);
      return res.status === 303 ? String(res.headers.location) : undefined;
    }, 'the successor to await its key');
    expect(keyPath).toBe(`/renew/kdanshinnet/key?requestId=${successorRequestId}`);
    const successor = await h.env.client.workflow.getHandle(`certificate-kdanshinnet-${successorRequestId}`).query(statusQuery);
    expect(successor).toMatchObject({ kind: 'renewal', state: 'awaitingKeyRetrieval', predecessorWorkflowId: request.workflowId });
  });
});
