// 申請情報の詳細 and 証明書の取得: the user's own request only, the public certificate only (DER), never the key.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createRequestStore } from '../../stores/requests';
import { formatTokyo } from '../../api/web/html';
import { MESSAGES } from '../../api/web/messages';
import { revokeUpdate, statusQuery } from '../../workflows/definitions';
import { readEnrollmentMails, registerUser, startWebHarness, waitFor, type RegisteredUser, type WebHarness } from './harness';
import { errorText, Visitor } from './visitor';

const IDLE_MS = 5000;
const base = '/enroll/kdanshinnet';

describe('申請情報の詳細 and 証明書の取得', () => {
  let h: WebHarness;
  let alice: RegisteredUser & { password: string };
  let bob: RegisteredUser & { password: string };

  const state = (user: RegisteredUser) => h.env.client.workflow.getHandle(user.workflowId).query(statusQuery).then((s) => s.state);
  const requestRow = async (user: RegisteredUser) => (await createRequestStore(h.runtime.db).find(user.requestId))!;

  /** A fresh login for each test: the idle timeout is short here. */
  async function visitorOf(user: RegisteredUser & { password: string }): Promise<Visitor> {
    const v = new Visitor(h.httpUrl);
    expect((await v.login('kdanshinnet', user.userId, user.password)).status).toBe(303);
    return v;
  }

  const submitCertificateForm = async (v: Visitor, fields: Record<string, string | string[]>) =>
    v.post(`${base}/certificate`, { formToken: await v.token(`${base}/certificate`), ...fields });

  beforeAll(async () => {
    h = await startWebHarness({ idleTimeoutMs: IDLE_MS });
    const a = await registerUser(h, 'emp401');
    const b = await registerUser(h, 'emp402');
    alice = { ...a, password: (await readEnrollmentMails(h, a)).password };
    bob = { ...b, password: (await readEnrollmentMails(h, b)).password };
    // Alice retrieves and downloads her key, so her certificate is active; Bob has done nothing yet.
    const v = await visitorOf(alice);
    const pkcs12Password = 'Alice-pkcs12-pw';
    const submitted = await v.post(`${base}/key`, { formToken: await v.token(`${base}/key`), requestId: alice.requestId, password: pkcs12Password, passwordConfirmation: pkcs12Password });
    expect(submitted.status).toBe(303);
    expect((await v.post(`${base}/download`, { formToken: await v.token(`${base}/download`) })).status).toBe(200);
    await waitFor(async () => (await state(alice)) === 'active' && (await requestRow(alice)).status === 'active', 'alice active');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('when the user asks for the certificate of their active request, then <userId>.cer comes as DER with their subject and serial, and it is exactly the CA’s certificate', async () => {
    const v = await visitorOf(alice);
    const r = await submitCertificateForm(v, { requestId: alice.requestId });
    expect(r.status).toBe(200);
    expect(r.res.headers.get('content-type')).toBe('application/pkix-cert');
    expect(r.res.headers.get('content-disposition')).toMatch(/^attachment; filename="?emp401\.cer"?$/);
    const der = Buffer.from(await r.res.arrayBuffer());
    const file = path.join(h.dir, 'emp401.cer');
    fs.writeFileSync(file, der);
    const text = execFileSync('openssl', ['x509', '-inform', 'DER', '-in', file, '-noout', '-subject', '-serial', '-nameopt', 'RFC2253'], { encoding: 'utf8' });
    const row = await requestRow(alice);
    expect(row.serial).toMatch(/^[0-9a-f]+$/i);
    expect(text).toContain('subject=CN=emp401,OU=div1-1-1,OU=div1-1,OU=div1,O=sampleCompany,C=JP');
    expect(/serial=([0-9A-F]+)/i.exec(text)?.[1]?.toLowerCase().replace(/^0+/, '')).toBe(row.serial!.toLowerCase().replace(/^0+/, ''));
    // Byte for byte the certificate the CA signed: nothing else (no key) travels with it.
    const issued = (await h.runtime.ca.certificatesOf('kdanshinnet', alice.userId)).find((c) => c.serial === row.serial)!;
    expect(der.equals(new X509Certificate(issued.certificatePem).raw)).toBe(true);
    expect(await state(alice)).toBe('active');
  });

  it('when the user opens the details of their request, then the page shows the request and its certificate in Japan time', async () => {
    const v = await visitorOf(alice);
    const list = await v.get(`${base}/requests`);
    expect(list.body).toContain(`<a href="${base}/details?requestId=${alice.requestId}">${alice.requestId}</a>`);
    const menu = await v.get(`${base}/`);
    expect(menu.body).toContain(`<a href="${base}/details">申請情報の詳細</a>`);
    expect(menu.body).toContain(`<a href="${base}/certificate">証明書の取得</a>`);
    expect(menu.body).not.toContain('class="off"');

    const r = await v.get(`${base}/details?requestId=${alice.requestId}`);
    expect(r.status).toBe(200);
    const row = await requestRow(alice);
    const cell = (label: string) => new RegExp(`<tr><th>${label}</th><td>([^<]*)</td></tr>`).exec(r.body)?.[1];
    expect(cell('リクエストID')).toBe(alice.requestId);
    expect(cell('種別')).toBe('新規');
    expect(cell('ステータス')).toBe('取得済み');
    expect(cell('申請日時')).toBe(formatTokyo(row.createdAt));
    expect(cell('メールの有効期限')).toBe(formatTokyo(row.guideExpiresAt));
    expect(cell('シリアル番号')).toBe(row.serial);
    expect(cell('有効期間')).toBe(`${formatTokyo(row.notBefore)} ～ ${formatTokyo(row.notAfter)}`);
    expect(cell('Common Name')).toBe('emp401');
    expect([...r.body.matchAll(/<tr><th>Organizational Unit<\/th><td>([^<]*)<\/td><\/tr>/g)].map((m) => m[1])).toEqual(['div1-1-1', 'div1-1', 'div1']);
    expect(cell('Organization')).toBe('sampleCompany');
    expect(cell('Country')).toBe('JP');
    expect(cell('通知用メールアドレス')).toBe(alice.email);

    const ask = await v.get(`${base}/details`);
    expect(ask.status).toBe(200);
    expect(ask.body).toContain(`<form method="get" action="${base}/details">`);
  });

  it('when the request has no certificate yet, then details say so and 証明書の取得 refuses with a message, issuing nothing', async () => {
    const v = await visitorOf(bob);
    const details = await v.get(`${base}/details?requestId=${bob.requestId}`);
    expect(details.status).toBe(200);
    expect(details.body).toContain(`<tr><th>ステータス</th><td>発行済み</td></tr>`);
    expect(details.body).not.toContain('シリアル番号');
    expect(details.body).toContain('このリクエストの証明書はまだ発行されていません。');
    const r = await submitCertificateForm(v, { requestId: bob.requestId });
    expect(r.status).toBe(409);
    expect(errorText(r.body)).toBe(MESSAGES.certificateNotIssued);
    expect(r.body).toContain(`value="${bob.requestId}"`);
    expect(await state(bob)).toBe('awaitingKeyRetrieval');
    expect(await h.runtime.ca.certificatesOf('kdanshinnet', bob.userId)).toEqual([]);
  });

  it("when the request ID is someone else's, unknown or malformed, then both pages answer alike with the request ID message and show nothing of it", async () => {
    const v = await visitorOf(bob);
    const aliceSerial = (await requestRow(alice)).serial!;
    for (const requestId of [alice.requestId, '209901010000001', 'abc', '<script>x</script>', '']) {
      const details = await v.get(`${base}/details?requestId=${encodeURIComponent(requestId)}`);
      expect({ requestId, status: details.status, message: errorText(details.body) }).toEqual({ requestId, status: 404, message: MESSAGES.requestIdInvalid });
      expect(details.body).not.toContain(aliceSerial);
      expect(details.body).not.toContain('<script>x');
      const certificate = await submitCertificateForm(v, { requestId });
      expect({ requestId, status: certificate.status, message: errorText(certificate.body) }).toEqual({ requestId, status: 422, message: MESSAGES.requestIdInvalid });
      expect(certificate.res.headers.get('content-type')).toMatch(/^text\/html/);
    }
    const repeatedQuery = await v.get(`${base}/details?requestId=${bob.requestId}&requestId=${alice.requestId}`);
    expect(repeatedQuery.status).toBe(400);
    expect(errorText(repeatedQuery.body)).toBe(MESSAGES.badRequest);
    const repeatedField = await submitCertificateForm(v, { requestId: [bob.requestId, alice.requestId] });
    expect(repeatedField.status).toBe(400);
    expect(errorText(repeatedField.body)).toBe(MESSAGES.badRequest);
    // Bob's own request is still found after all that: nothing was locked or changed.
    expect((await v.get(`${base}/details?requestId=${bob.requestId}`)).status).toBe(200);
    expect(await state(alice)).toBe('active');
    expect(await state(bob)).toBe('awaitingKeyRetrieval');
  });

  it('when the certificate form comes without its token or a second time, then it is refused and no certificate is sent', async () => {
    const v = await visitorOf(alice);
    const forged = await v.post(`${base}/certificate`, { requestId: alice.requestId });
    expect(forged.status).toBe(403);
    expect(errorText(forged.body)).toBe(MESSAGES.formTokenInvalid);
    const formToken = await v.token(`${base}/certificate`);
    expect((await v.post(`${base}/certificate`, { formToken, requestId: alice.requestId })).status).toBe(200);
    const replayed = await v.post(`${base}/certificate`, { formToken, requestId: alice.requestId });
    expect(replayed.status).toBe(403);
    expect(errorText(replayed.body)).toBe(MESSAGES.formTokenInvalid);
    expect(replayed.res.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('when the pages are opened without a login or after the session went idle, then they say to start again from the mail', async () => {
    const stranger = new Visitor(h.httpUrl);
    for (const p of [`${base}/details`, `${base}/details?requestId=${alice.requestId}`, `${base}/certificate`]) {
      const r = await stranger.get(p);
      expect({ p, status: r.status, message: errorText(r.body) }).toEqual({ p, status: 401, message: MESSAGES.sessionInvalid });
    }
    const posted = await stranger.post(`${base}/certificate`, { requestId: alice.requestId });
    expect(posted.status).toBe(401);
    expect(errorText(posted.body)).toBe(MESSAGES.sessionInvalid);

    const v = await visitorOf(alice);
    const formToken = await v.token(`${base}/certificate`);
    await new Promise((r) => setTimeout(r, IDLE_MS + 500));
    const idle = await v.post(`${base}/certificate`, { formToken, requestId: alice.requestId });
    expect(idle.status).toBe(401);
    expect(errorText(idle.body)).toBe(MESSAGES.sessionInvalid);
  });

  it('when the certificate is revoked, then 証明書の取得 refuses it and the details show the revocation', async () => {
    await h.env.client.workflow.getHandle(alice.workflowId).executeUpdate(revokeUpdate, { args: [{ reason: 'keyCompromise', agent: 'web-test' }] });
    await waitFor(async () => (await requestRow(alice)).status === 'revoked', 'the projection to say revoked');
    const v = await visitorOf(alice);
    const r = await submitCertificateForm(v, { requestId: alice.requestId });
    expect(r.status).toBe(409);
    expect(errorText(r.body)).toBe(MESSAGES.certificateRevoked);
    const details = await v.get(`${base}/details?requestId=${alice.requestId}`);
    expect(details.body).toContain('<tr><th>ステータス</th><td>失効</td></tr>');
    expect(details.body).toMatch(/<tr><th>失効日時<\/th><td>\d{4}\.\d{2}\.\d{2} \d{2}:\d{2}:\d{2}<\/td><\/tr>/);
  });
});
