// The user's whole journey in real Chromium: guide mail → login → 鍵の取得 → Download → import into NSS →
// renewal by client certificate → resume list → renewed .p12 → portal gate before and after revocation.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { revokeUpdate, statusQuery } from '../../workflows/definitions';
import { ensureBrowserTools, importPkcs12, installAutoSelectPolicy, launchChromium, type TestBrowser } from './browser';
import { mailTo, readEnrollmentMails, registerUser, startWebHarness, tlsRequest, waitFor, type WebHarness } from './harness';

const DAY = 86_400_000;
const artifacts = path.resolve(__dirname, '../artifacts/web');

describe('the user in Chromium', () => {
  let h: WebHarness;
  let chrome: TestBrowser;
  let removePolicy: () => void;
  let shot = 0;

  const screenshot = async (page: Page, name: string) => {
    await page.screenshot({ path: path.join(artifacts, `${String(++shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    ensureBrowserTools();
    fs.mkdirSync(artifacts, { recursive: true });
    h = await startWebHarness();
    removePolicy = installAutoSelectPolicy(h.tlsUrl, h.runtime.profiles.kdanshinnet.caCommonName);
    chrome = await launchChromium();
  });

  afterAll(async () => {
    await chrome?.close();
    removePolicy?.();
    await h?.close();
  });

  it('when the user follows the guide mail, retrieves the key, renews with the certificate and the portal checks it, then every step works and the gate follows revocation', async () => {
    const user = await registerUser(h, 'emp002');
    const mails = await readEnrollmentMails(h, user);
    expect(mails.requestId).toBe(user.requestId);
    const page = await chrome.context.newPage();

    // ユーザ認証
    await page.goto(mails.link);
    await expect(page.locator('h1').textContent()).resolves.toBe('ユーザ認証');
    await screenshot(page, 'login');
    await page.fill('#userId', user.userId);
    await page.fill('#password', mails.password);
    await page.click('button:has-text("Login")');
    // menu
    await expect(page.locator('nav').textContent()).resolves.toContain('鍵の取得');
    await screenshot(page, 'menu');
    await page.click('nav >> text=問い合わせ連絡先');
    await expect(page.locator('main').textContent()).resolves.toContain('0120-588-399');
    await screenshot(page, 'contact');
    // 鍵の取得
    await page.click('nav >> text=鍵の取得');
    await expect(page.locator('main').textContent()).resolves.toContain('当日中に完了');
    await screenshot(page, 'key-retrieval');
    const pkcs12Password = 'Chosen-by-user-42';
    await page.fill('#requestId', mails.requestId);
    await page.fill('#password', pkcs12Password);
    await page.fill('#passwordConfirmation', pkcs12Password);
    await page.click('button:has-text("Submit")');
    await expect(page.locator('button').textContent()).resolves.toBe('Download');
    await screenshot(page, 'download');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download")')]);
    expect(download.suggestedFilename()).toBe('emp002.p12');
    const p12File = path.join(h.dir, 'emp002.p12');
    await download.saveAs(p12File);

    // openssl opens it with the chosen password and finds the user's certificate and key.
    const opened = execFileSync('openssl', ['pkcs12', '-in', p12File, '-passin', `pass:${pkcs12Password}`, '-nodes'], { encoding: 'utf8' });
    expect(opened).toMatch(/subject=.*CN\s*=\s*emp002/);
    expect(opened).toContain('PRIVATE KEY');
    const handle = h.env.client.workflow.getHandle(user.workflowId);
    const active = await waitFor(async () => ((await handle.query(statusQuery)).state === 'active' ? await handle.query(statusQuery) : undefined), 'the certificate to become active');

    // The .p12 into the NSS database Chromium uses; the policy picks it for the TLS listener.
    importPkcs12(chrome.nssDb, p12File, pkcs12Password);

    // Portal gate with the certificate: 200 and the subject, as JSON.
    const gateResponse = await page.goto(`${h.tlsUrl}/portal/kdanshinnet/`);
    expect(gateResponse?.status()).toBe(200);
    expect(gateResponse?.headers()['content-type']).toMatch(/^application\/json/);
    expect(gateResponse?.headers()['x-content-type-options']).toBe('nosniff');
    expect((await gateResponse!.json()).subject).toBe('CN=emp002, OU=div1-1-1, OU=div1-1, OU=div1, O=sampleCompany, C=JP');
    await screenshot(page, 'gate-200');

    // Before the window: the renewal page says when it opens.
    await page.goto(`${h.tlsUrl}/renew/kdanshinnet/apply`);
    await expect(page.locator('.error').textContent()).resolves.toContain('30日前');
    await screenshot(page, 'renewal-not-yet');

    // T-20: the renewal notice has gone out; its link leads to the renewal pages.
    await h.env.sleep(Date.parse(active.notAfter!) - 20 * DAY - (await h.env.currentTimeMs()));
    const notice = await mailTo(h.mailbox, user.email, 'クライアント証明書更新のご案内');
    const renewalLink = /(https:\/\/\S+\/renew\/kdanshinnet\/)/.exec(notice.parsed.text ?? '')?.[1];
    expect(renewalLink).toBe(`${h.tlsUrl}/renew/kdanshinnet/`);
    await page.goto(renewalLink!);
    await screenshot(page, 'renewal-top');
    await page.click('nav >> text=証明書更新申請');
    const confirmation = (await page.locator('main').textContent())!;
    for (const shown of ['emp002', 'div1-1-1', 'div1-1', 'div1', 'sampleCompany', 'JP', 'emp002@bank-a.example.jp']) expect(confirmation).toContain(shown);
    await screenshot(page, 'renewal-confirm');
    await page.click('button:has-text("Submit")');
    // The processing page refreshes itself until the successor is ready, then 鍵の取得 with the request ID filled in.
    await page.waitForURL(/\/renew\/kdanshinnet\/key\?requestId=\d{15}/, { timeout: 30_000 });
    const successorRequestId = await page.inputValue('#requestId');
    expect(successorRequestId).toMatch(/^\d{15}$/);
    expect(successorRequestId).not.toBe(user.requestId);
    await screenshot(page, 'renewal-key-retrieval');

    // Interrupted here: 更新後証明書の取得 lists the successor and resumes it.
    await page.goto(`${h.tlsUrl}/renew/kdanshinnet/`);
    await page.click('nav >> text=更新後証明書の取得');
    const row = page.locator('table.list tr', { hasText: successorRequestId });
    await expect(row.textContent()).resolves.toContain('発行済み');
    await screenshot(page, 'resume-list');
    await row.locator('a:has-text("Download key")').click();
    await expect(page.inputValue('#requestId')).resolves.toBe(successorRequestId);
    const renewedPassword = 'Renewed-pass-2029';
    await page.fill('#password', renewedPassword);
    await page.fill('#passwordConfirmation', renewedPassword);
    await page.click('button:has-text("Submit")');
    await screenshot(page, 'renewal-download');
    const [renewedDownload] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download")')]);
    expect(renewedDownload.suggestedFilename()).toBe('emp002.p12');
    const renewedFile = path.join(h.dir, 'emp002-renewed.p12');
    await renewedDownload.saveAs(renewedFile);
    const renewed = execFileSync('openssl', ['pkcs12', '-in', renewedFile, '-passin', `pass:${renewedPassword}`, '-nokeys', '-clcerts'], { encoding: 'utf8' });
    expect(renewed).toMatch(/subject=.*CN\s*=\s*emp002/);
    const renewedSerial = execFileSync('openssl', ['x509', '-noout', '-serial'], { input: renewed, encoding: 'utf8' }).trim().split('=')[1]!.toLowerCase();
    expect(renewedSerial).not.toBe(active.serial);
    const successor = h.env.client.workflow.getHandle(`certificate-kdanshinnet-${successorRequestId}`);
    await waitFor(async () => (await successor.query(statusQuery)).state === 'active', 'the renewed certificate to become active');

    // The renewed certificate passes the gate too (presented by Node, the browser keeps the first).
    const renewedGate = await tlsRequest(h, '/portal/kdanshinnet/', { pfx: fs.readFileSync(renewedFile), passphrase: renewedPassword });
    expect(renewedGate.status).toBe(200);
    expect(JSON.parse(renewedGate.body).subject).toBe('CN=emp002, OU=div1-1-1, OU=div1-1, OU=div1, O=sampleCompany, C=JP');

    // Without a certificate: 403 forbidden.
    expect(await tlsRequest(h, '/portal/kdanshinnet/')).toMatchObject({ status: 403, body: 'forbidden' });

    // After revocation of the browser's certificate: 403 forbidden, on the same browser.
    await handle.executeUpdate(revokeUpdate, { args: [{ reason: 'keyCompromise', agent: 'web-test' }] });
    const afterRevocation = await page.goto(`${h.tlsUrl}/portal/kdanshinnet/`);
    expect(afterRevocation?.status()).toBe(403);
    await expect(page.locator('body').textContent()).resolves.toBe('forbidden');
    await screenshot(page, 'gate-403-revoked');
    await page.goto(`${h.tlsUrl}/renew/kdanshinnet/`);
    await expect(page.locator('.error').textContent()).resolves.toContain('失効');
    await screenshot(page, 'renewal-revoked');
  });
});
