// The console in Chromium with operator certificates obtained the real way (operator add → mails → 鍵の取得 →
// Download → pk12util into NSS): an agent finds a user, reissues and resets a password, may not revoke; an admin
// revokes and starts a new request; a failed mail is resent; a revoked and a foreign certificate are diagnosed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { statusQuery } from '../../workflows/definitions';
import { ensureBrowserTools, importPkcs12, installAutoSelectPolicies, launchChromium, type TestBrowser } from '../web/browser';
import { mailTo, registerUser, waitFor } from '../web/harness';
import { Visitor } from '../web/visitor';
import { activeUser, enrollOperator, startConsoleHarness, type ConsoleHarness, type Obtained } from './support';

const artifacts = path.resolve(__dirname, '../artifacts/console');

describe('the console in Chromium', () => {
  let h: ConsoleHarness;
  let chrome: TestBrowser;
  let removePolicy: () => void;
  let admin: Obtained;
  let support: Obtained;
  // One listener, two host names: Chromium presents the admin's certificate to one and the agent's to the other.
  let adminUrl: string;
  let agentUrl: string;
  let shot = 0;

  const screenshot = async (page: Page, name: string) => {
    await page.screenshot({ path: path.join(artifacts, `${String(++shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };

  const crlText = async (profile: string) => {
    const file = path.join(h.dir, `${profile}-${Date.now()}.crl`);
    fs.writeFileSync(file, Buffer.from(await (await fetch(`${h.httpUrl}/crl/${profile}.crl`)).arrayBuffer()));
    return execFileSync('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout', '-text'], { encoding: 'utf8' });
  };
  const onCrl = (text: string, serial: string) => text.toLowerCase().includes(serial.toLowerCase());
  const certificatePem = (o: Obtained) => {
    const file = path.join(h.dir, `${o.userId}-${o.serial}.p12`);
    fs.writeFileSync(file, o.pkcs12);
    return execFileSync('openssl', ['pkcs12', '-in', file, '-passin', `pass:${o.passphrase}`, '-nokeys', '-clcerts'], { encoding: 'utf8' });
  };
  const mailsTo = (to: string, subject: string) => h.mailbox.received.filter((m) => m.envelopeTo.includes(to) && (m.parsed.subject ?? '').includes(subject));

  beforeAll(async () => {
    ensureBrowserTools();
    fs.mkdirSync(artifacts, { recursive: true });
    h = await startConsoleHarness();
    admin = await enrollOperator(h, 'admin01', 'admin');
    support = await enrollOperator(h, 'agent07', 'support');
    adminUrl = h.tlsUrl;
    agentUrl = h.tlsUrl.replace('localhost', '127.0.0.1');
    const issuer = h.runtime.profiles.operators.caCommonName;
    removePolicy = installAutoSelectPolicies([
      { url: adminUrl, issuerCommonName: issuer, subjectCommonName: 'admin01' },
      { url: agentUrl, issuerCommonName: issuer, subjectCommonName: 'agent07' },
    ]);
    chrome = await launchChromium();
    for (const o of [admin, support]) {
      const file = path.join(h.dir, `${o.userId}.p12`);
      fs.writeFileSync(file, o.pkcs12);
      importPkcs12(chrome.nssDb, file, o.passphrase);
    }
  }, 180_000);

  afterAll(async () => {
    await chrome?.close();
    removePolicy?.();
    await h?.close();
  });

  it('when an agent finds a user and reissues, then the password is shown once, the user is mailed, the old serial is on the CRL; the agent may not revoke', async () => {
    const user = await activeUser(h, 'emp400');
    const page = await chrome.context.newPage();
    await page.goto(`${agentUrl}/console/`);
    await expect(page.locator('header').textContent()).resolves.toContain('agent07（サポート）');
    await page.fill('#q', 'emp400@bank-a');
    await page.click('button:has-text("検索")');
    await expect(page.locator('main h2').textContent()).resolves.toBe('検索結果（1件）');
    await screenshot(page, 'search');
    await page.click('table.list >> text=emp400');
    await page.waitForURL(/\/console\/users\/emp400$/);
    await expect(page.locator('.portal-verdict').textContent()).resolves.toContain('いま接続できます');
    const temporalLink = await page.locator('a:has-text("Temporal Web UI")').first().getAttribute('href');
    expect(temporalLink).toBe(`http://temporal-ui.example:8233/namespaces/default/workflows/${user.workflowId}`);
    await expect(page.locator('ul.mails').first().textContent()).resolves.toContain('送信済み');
    await screenshot(page, 'user');

    // Support may not revoke: a refusal page, and nothing changes.
    const refused = await page.goto(`${agentUrl}/console/users/emp400/kdanshinnet/revoke`);
    expect(refused?.status()).toBe(403);
    await expect(page.locator('.error').textContent()).resolves.toContain('管理者の権限が必要です');
    await expect(page.locator('form').count()).resolves.toBe(0);
    await screenshot(page, 'support-cannot-revoke');
    expect((await h.runtime.stores.requests.find(user.requestId))!.status).toBe('active');

    await page.goto(`${agentUrl}/console/users/emp400`);
    await page.click('.actions >> text=再発行');
    await expect(page.locator('h1').textContent()).resolves.toBe('証明書の再発行の確認');
    await screenshot(page, 'reissue-confirm');
    await page.click('button:has-text("実行")');
    const password = (await page.locator('#enrollmentPassword').textContent())!;
    expect(password).toMatch(/^\S{12}$/);
    const successorRequestId = (await page.locator('#requestId').textContent())!;
    await screenshot(page, 'reissue-done');
    // Reloading the result does not show it again: the form was spent.
    const replay = await page.reload();
    expect(replay?.status()).toBe(403);
    expect(await page.content()).not.toContain(password);

    await mailTo(h.mailbox, user.email, '再発行準備完了');
    const crl = await waitFor(async () => {
      const t = await crlText('kdanshinnet');
      return onCrl(t, user.serial) ? t : undefined;
    }, 'the old serial on the CRL');
    expect(crl).toContain('Superseded');
    // The password shown works on the enrollment pages.
    expect((await new Visitor(h.httpUrl).login('kdanshinnet', 'emp400', password)).status).toBe(303);

    // Password reset of the reissued request: a new password, the one before no longer works.
    await page.goto(`${agentUrl}/console/users/emp400`);
    await page.click('.actions >> text=パスワード再発行');
    await page.click('button:has-text("実行")');
    const reset = (await page.locator('#enrollmentPassword').textContent())!;
    expect(reset).not.toBe(password);
    expect((await new Visitor(h.httpUrl).login('kdanshinnet', 'emp400', password)).status).not.toBe(303);
    expect((await new Visitor(h.httpUrl).login('kdanshinnet', 'emp400', reset)).status).toBe(303);

    const trail = await h.runtime.stores.audit.list({ target: 'user:emp400' });
    expect(trail.map((e) => [e.agent, e.role, e.action, e.outcome])).toEqual([
      ['agent07', 'support', 'reissue', 'ok'],
    ]);
    expect((await h.runtime.stores.audit.list({ target: `request:${successorRequestId}` })).map((e) => [e.agent, e.action])).toEqual([['agent07', 'passwordReset']]);
    await page.goto(`${agentUrl}/console/audit?agent=agent07`);
    await expect(page.locator('table.list').textContent()).resolves.toContain('reissue');
    await screenshot(page, 'audit');
    await page.close();
  });

  it('when an admin revokes with a reason and starts a new request, then the CRL carries the reason and the user gets the mails; the revoked certificate is diagnosed', async () => {
    const user = await activeUser(h, 'emp401');
    const page = await chrome.context.newPage();
    await page.goto(`${adminUrl}/console/users/emp401`);
    await expect(page.locator('header').textContent()).resolves.toContain('admin01（管理者）');
    await page.click('.actions >> text=失効（管理者）');
    await page.selectOption('#reason', 'keyCompromise');
    await screenshot(page, 'revoke-confirm');
    await page.click('button:has-text("実行")');
    await expect(page.locator('.done').textContent()).resolves.toContain('鍵の危殆化');
    await screenshot(page, 'revoke-done');
    const crl = await waitFor(async () => {
      const t = await crlText('kdanshinnet');
      return onCrl(t, user.serial) ? t : undefined;
    }, 'the revoked serial on the CRL');
    expect(crl).toContain('Key Compromise');
    await mailTo(h.mailbox, user.email, '失効のお知らせ');

    await page.goto(`${adminUrl}/console/users/emp401`);
    await expect(page.locator('.portal-verdict').textContent()).resolves.toContain('いま接続できません');
    await page.click('.actions >> text=新規申請');
    await page.click('button:has-text("実行")');
    const newRequestId = (await page.locator('#requestId').textContent())!;
    expect(newRequestId).toMatch(/^\d{15}$/);
    await waitFor(() => mailsTo(user.email, 'ログインパスワードのお知らせ').length === 2, 'the new request\'s password mail');

    // Diagnosis of the revoked certificate, pasted as PEM.
    await page.goto(`${adminUrl}/console/diagnose`);
    await page.fill('#certificate', certificatePem(user));
    await page.click('button:has-text("診断")');
    const verdict = (await page.locator('table.diagnosis').textContent())!;
    expect(verdict).toContain('接続できません：失効しています');
    expect(verdict).toContain('keyCompromise');
    expect(verdict).toContain('emp401');
    expect(verdict).toContain(user.requestId);
    await screenshot(page, 'diagnose-revoked');

    // A foreign certificate, uploaded as DER.
    const key = path.join(h.dir, 'foreign.key');
    const der = path.join(h.dir, 'foreign.cer');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', '/CN=emp401/O=Elsewhere CA', '-days', '30', '-outform', 'DER', '-out', der], { stdio: 'pipe' });
    await page.goto(`${adminUrl}/console/diagnose`);
    await page.setInputFiles('#file', der);
    await waitFor(async () => (await page.inputValue('#der')) !== '', 'the file read into the form');
    await page.click('button:has-text("診断")');
    await expect(page.locator('table.diagnosis').textContent()).resolves.toContain('certflow が発行した証明書ではありません');
    await screenshot(page, 'diagnose-foreign');
    await page.close();
  });

  it('when a guide mail was refused, then an agent resends it from the failed-mail list and it arrives', async () => {
    const refusedAddress = 'emp402@bank-a.example.jp';
    h.mailbox.refused.add(refusedAddress);
    const user = await registerUser(h, 'emp402');
    await waitFor(async () => (await h.runtime.mailOutbox.listFailedMails()).some((m) => m.recipient === refusedAddress && m.kind === 'acquisitionGuide'), 'the refused guide mail');
    h.mailbox.refused.delete(refusedAddress);
    const page = await chrome.context.newPage();
    await page.goto(`${agentUrl}/console/lists/failed-mails`);
    const row = page.locator('table.list tr', { hasText: 'クライアント証明書取得のご案内' }).filter({ hasText: refusedAddress });
    await screenshot(page, 'failed-mails');
    await row.locator('a:has-text("再送")').click();
    await page.click('button:has-text("実行")');
    await expect(page.locator('.done').textContent()).resolves.toContain('再送しました');
    await mailTo(h.mailbox, user.email, 'クライアント証明書取得のご案内');
    const handle = h.env.client.workflow.getHandle(user.workflowId);
    expect((await handle.query(statusQuery)).state).toBe('awaitingKeyRetrieval');
    expect((await h.runtime.stores.audit.list({ action: 'resendMail' })).map((e) => [e.agent, e.outcome])).toEqual([['agent07', 'ok']]);
    await page.close();
  });
});
