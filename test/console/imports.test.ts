// The console's bulk registration in Chromium, with an admin's operator certificate obtained the real way: upload an
// Excel Shift_JIS file, read the report by line and field (nobody registered), confirm "register the valid lines",
// follow the progress to 100 % — a reload shows the same — and the same file again leads to the same import.
import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { ensureBrowserTools, importPkcs12, installAutoSelectPolicies, launchChromium, type TestBrowser } from '../web/browser';
import { csvLine, HEADER } from '../imports/support';
import { enrollOperator, startConsoleHarness, type ConsoleHarness, type Obtained } from './support';

const artifacts = path.resolve(__dirname, '../artifacts/console');

describe('bulk registration in the console (Chromium)', () => {
  let h: ConsoleHarness;
  let chrome: TestBrowser;
  let removePolicy: () => void;
  let admin: Obtained;

  beforeAll(async () => {
    ensureBrowserTools();
    fs.mkdirSync(artifacts, { recursive: true });
    h = await startConsoleHarness();
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

  it('when an admin uploads a file with two bad lines, then the report lists them and nobody is registered; confirmed, the valid lines are registered and the progress reaches 100 % and survives a reload', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => {
      const userId = `bulk${String(i + 1).padStart(3, '0')}`;
      if (i === 4) return csvLine({ userId, email: 'bulk005-at-bank', organization: '株式会社サンプル' });
      if (i === 20) return csvLine({ userId, profile: 'operators', organization: '株式会社サンプル' });
      return csvLine({ userId, organization: '株式会社サンプル', organizationalUnits: '営業一課;営業部' });
    });
    const csv = path.join(h.dir, '一括登録.csv');
    fs.writeFileSync(csv, iconv.encode([HEADER, ...lines].join('\r\n') + '\r\n', 'Shift_JIS'));
    const users = async () => Number((await h.runtime.db('users').where('user_id', 'like', 'bulk%').count({ n: '*' }))[0]!.n);

    const page = await chrome.context.newPage();
    await page.goto(`${h.tlsUrl}/console/`);
    await page.click('nav >> text=CSVファイルから登録');
    await page.waitForURL(/\/console\/imports$/);
    await page.setInputFiles('#csvFile', csv);
    await page.waitForSelector('#check:not([disabled])');
    await page.click('#check');

    await expect(page.locator('h1').textContent()).resolves.toContain('検査結果');
    await expect(page.locator('#summary').textContent()).resolves.toBe('一括登録.csv：30行（Shift_JIS）、正しい行 28、誤りのある行 2');
    const report = (await page.locator('table.list').first().textContent())!;
    expect(report).toContain('bulk005 (kdanshinnet)');
    expect(report).toContain('email');
    expect(report).toContain('bulk021 (operators)');
    expect(report).toContain('profile');
    await page.screenshot({ path: path.join(artifacts, 'import-report.png'), fullPage: true });
    expect(await users()).toBe(0);

    await page.click('button:has-text("正しい 28 行を登録する")');
    await page.waitForURL(/\/console\/imports\/users-[0-9a-f]{64}$/);
    const progressUrl = page.url();
    // The page refreshes itself while the import runs.
    await page.waitForSelector('#finished', { timeout: 120_000 });
    await expect(page.locator('#percent').textContent()).resolves.toBe('100%');
    await expect(page.locator('#done').textContent()).resolves.toBe('28');
    await page.screenshot({ path: path.join(artifacts, 'import-progress.png'), fullPage: true });
    expect(await users()).toBe(28);

    // A reload (or another operator opening the link) reads the same progress from the database.
    await page.reload();
    await expect(page.locator('#percent').textContent()).resolves.toBe('100%');
    const failures = (await page.locator('table.list').nth(1).textContent())!;
    expect(failures).toContain('bulk005');
    expect(failures).toContain('検査で除外');

    // The same file again is the same import: straight to its progress, nobody registered twice.
    await page.goto(`${h.tlsUrl}/console/imports`);
    await page.setInputFiles('#csvFile', csv);
    await page.waitForSelector('#check:not([disabled])');
    await page.click('#check');
    await page.waitForURL(progressUrl);
    expect(await users()).toBe(28);

    const importId = progressUrl.split('/').pop()!;
    const trail = await h.runtime.stores.audit.list({ target: `import:${importId}` });
    expect(trail.map((e) => [e.agent, e.role, e.action, e.outcome, e.detail?.started])).toEqual([
      ['admin02', 'admin', 'importFile', 'ok', false],
      ['admin02', 'admin', 'importFile', 'ok', true],
      ['admin02', 'admin', 'importFile', 'ok', true],
    ]);
    await page.close();
  });
});
