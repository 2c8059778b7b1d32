// Bad input on every page and endpoint: a clear Japanese message, the right status, nothing changed, never a 500.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createUserStore } from '../../stores/users';
import { PKCS12_PASSWORD_MESSAGES_JA } from '../../engines/pki';
import { loginDelayed, MESSAGES, REFUSALS_JA } from '../../api/web/messages';
import { statusQuery } from '../../workflows/definitions';
import { reissue } from '../../domain';
import { readEnrollmentMails, registerUser, startWebHarness, tlsRequest, waitFor, type RegisteredUser, type WebHarness } from './harness';
import { holdsAny, pkcs12Pieces, sqliteBytes } from '../support/secrets';
import { errorText, Visitor } from './visitor';

const DAY = 86_400_000;
// Short enough to wait out, long enough for a key retrieval (key generation, PKCS#12, the session written on SQLite's one
// connection) on a loaded machine, which would otherwise count as idle time.
const IDLE_MS = 3000;

describe('bad input on the user pages', () => {
  let h: WebHarness;
  let alice: RegisteredUser & { password: string };
  let bob: RegisteredUser & { password: string };

  beforeAll(async () => {
    h = await startWebHarness({ idleTimeoutMs: IDLE_MS, loginThrottle: { freeFailures: 3, firstDelayMs: 1500 }, loginFailuresPerMinute: 40 });
    const a = await registerUser(h, 'emp101');
    const b = await registerUser(h, 'emp202');
    alice = { ...a, password: (await readEnrollmentMails(h, a)).password };
    bob = { ...b, password: (await readEnrollmentMails(h, b)).password };
  });

  afterAll(async () => {
    await h?.close();
  });

  const state = (user: RegisteredUser) => h.env.client.workflow.getHandle(user.workflowId).query(statusQuery).then((s) => s.state);

  it('when the user ID is unknown or the password wrong, then the same message and status come back', async () => {
    const unknown = await new Visitor(h.httpUrl).login('kdanshinnet', 'nobody99', 'whatever-password');
    const wrong = await new Visitor(h.httpUrl).login('kdanshinnet', bob.userId, 'wrong-password');
    const empty = await new Visitor(h.httpUrl).login('kdanshinnet', '', '');
    for (const r of [unknown, wrong, empty]) {
      expect(r.status).toBe(401);
      expect(errorText(r.body)).toBe(MESSAGES.loginFailed);
    }
    // The typed user ID is shown back escaped, never as markup.
    const hostile = await new Visitor(h.httpUrl).login('kdanshinnet', '<script>x</script>', 'pw');
    expect(hostile.body).not.toContain('<script>x</script>');
    expect(hostile.body).toContain('&lt;script&gt;x&lt;/script&gt;');
    await h.runtime.stores.loginFailures.clear(bob.userId);
  });

  // Was: 3 failures locked the user out, even with the right password, until support unlocked them (issue 13, finding 5).
  it('when a user ID fails too often, then its next attempt waits (429, how long, the password unchecked) and after the wait the right password logs in', async () => {
    for (let i = 0; i < 4; i++) expect((await new Visitor(h.httpUrl).login('kdanshinnet', bob.userId, `bad-${i}-password`)).status).toBe(401);
    const early = await new Visitor(h.httpUrl).login('kdanshinnet', bob.userId, bob.password);
    expect(early.status).toBe(429);
    const retryAfter = Number(early.res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(errorText(early.body)).toBe(loginDelayed(retryAfter * 1000));
    expect((await createUserStore(h.runtime.db).find(bob.userId, 'kdanshinnet'))?.lockedUntil).toBeDefined();
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    const afterWait = await new Visitor(h.httpUrl).login('kdanshinnet', bob.userId, bob.password);
    expect(afterWait).toMatchObject({ status: 303, location: '/enroll/kdanshinnet/' });
    expect((await createUserStore(h.runtime.db).find(bob.userId, 'kdanshinnet'))).toMatchObject({ failedLogins: 0, lockedUntil: undefined });
  });

  it('when a form comes without its token or a second time, then it is refused and the session cookie is HttpOnly and SameSite', async () => {
    const v = new Visitor(h.httpUrl);
    const page = await v.get('/enroll/kdanshinnet/login');
    const cookie = page.res.headers.getSetCookie().join('\n');
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const forged = await v.post('/enroll/kdanshinnet/login', { userId: alice.userId, password: alice.password });
    expect(forged.status).toBe(403);
    expect(errorText(forged.body)).toBe(MESSAGES.formTokenInvalid);
    const formToken = await v.token('/enroll/kdanshinnet/login');
    expect((await v.post('/enroll/kdanshinnet/login', { formToken, userId: alice.userId, password: alice.password })).status).toBe(303);
    const replayed = await v.post('/enroll/kdanshinnet/login', { formToken, userId: alice.userId, password: alice.password });
    expect(replayed.status).toBe(403);
  });

  it('when the login page is viewed and posted without a login, then no session is stored; a login stores one', async () => {
    const sids = async () => new Set<string>(await h.runtime.db('web_sessions').pluck('sid'));
    const before = await sids();
    const added = async () => [...(await sids())].filter((sid) => !before.has(sid));
    for (let i = 0; i < 25; i++) expect((await new Visitor(h.httpUrl).get('/enroll/kdanshinnet/login')).status).toBe(200);
    const v = new Visitor(h.httpUrl);
    for (let i = 0; i < 3; i++) await v.get('/enroll/kdanshinnet/login');
    expect((await v.login('kdanshinnet', 'nobody77', 'wrong-password')).status).toBe(401);
    expect(await added()).toEqual([]);
    const loggedIn = await v.login('kdanshinnet', alice.userId, alice.password);
    expect(loggedIn.status).toBe(303);
    expect(await added()).toHaveLength(1);
    // The plain listener's own cookie (the TLS listener shares the store, not its cookie settings).
    const cookie = loggedIn.res.headers.getSetCookie().find((c) => c.startsWith('certflow.enroll='));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).not.toMatch(/Secure/);
    expect((await v.get('/enroll/kdanshinnet/')).status).toBe(200);
  });

  it('when a login form is posted after its time or with a forged token, then the page of a stale form comes back with 403 and a fresh form', async () => {
    const login = '/enroll/kdanshinnet/login';
    const v = new Visitor(h.httpUrl);
    const stale = await v.token(login);
    await new Promise((r) => setTimeout(r, IDLE_MS + 300));
    const expired = await v.post(login, { formToken: stale, userId: alice.userId, password: alice.password });
    expect(expired.status).toBe(403);
    expect(errorText(expired.body)).toBe(MESSAGES.formTokenInvalid);
    const [issuedAt, signature] = (await v.token(login)).split('.');
    const forgedSignature = `${signature!.slice(0, -4)}${signature!.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const forged = await v.post(login, { formToken: `${issuedAt}.${forgedSignature}`, userId: alice.userId, password: alice.password });
    expect(forged.status).toBe(403);
    expect(errorText(forged.body)).toBe(MESSAGES.formTokenInvalid);
    const fresh = /name="formToken" value="([^"]+)"/.exec(forged.body)?.[1];
    expect((await v.post(login, { formToken: fresh!, userId: alice.userId, password: alice.password })).status).toBe(303);
  });

  it('when pages behind the login are opened without one, then the page says to start again from the mail', async () => {
    for (const p of ['/enroll/kdanshinnet/', '/enroll/kdanshinnet/key', '/enroll/kdanshinnet/download']) {
      const r = await new Visitor(h.httpUrl).get(p);
      expect(r.status).toBe(401);
      expect(errorText(r.body)).toBe(MESSAGES.sessionInvalid);
    }
    const posted = await new Visitor(h.httpUrl).post('/enroll/kdanshinnet/key', { requestId: alice.requestId, password: 'x', passwordConfirmation: 'x' });
    expect(posted.status).toBe(401);
  });

  it('when the key retrieval form is wrong in any way, then it says what is wrong and the request does not move', async () => {
    const v = new Visitor(h.httpUrl);
    expect((await v.login('kdanshinnet', alice.userId, alice.password)).status).toBe(303);
    const submit = async (fields: Record<string, string | string[]>) => v.post('/enroll/kdanshinnet/key', { formToken: await v.token('/enroll/kdanshinnet/key'), ...fields });
    const good = 'Good-password-1';
    const cases: Array<[string, Record<string, string | string[]>, number, string]> = [
      ["someone else's request ID", { requestId: bob.requestId, password: good, passwordConfirmation: good }, 422, MESSAGES.requestIdInvalid],
      ['an unknown request ID', { requestId: '209901010000001', password: good, passwordConfirmation: good }, 422, MESSAGES.requestIdInvalid],
      ['a malformed request ID', { requestId: 'abc', password: good, passwordConfirmation: good }, 422, MESSAGES.requestIdInvalid],
      ['mismatched passwords', { requestId: alice.requestId, password: good, passwordConfirmation: `${good}x` }, 422, MESSAGES.passwordMismatch],
      ['a short password', { requestId: alice.requestId, password: 'short', passwordConfirmation: 'short' }, 422, PKCS12_PASSWORD_MESSAGES_JA.tooShort],
      ['non-ASCII password', { requestId: alice.requestId, password: 'パスワード12345678', passwordConfirmation: 'パスワード12345678' }, 422, PKCS12_PASSWORD_MESSAGES_JA.notPrintableAscii],
      ['an overlong password', { requestId: alice.requestId, password: 'a'.repeat(300), passwordConfirmation: 'a'.repeat(300) }, 422, MESSAGES.fieldTooLong],
      ['a missing password', { requestId: alice.requestId }, 422, MESSAGES.passwordMissing],
      ['a repeated field', { requestId: [alice.requestId, bob.requestId], password: good, passwordConfirmation: good }, 400, MESSAGES.badRequest],
    ];
    for (const [what, fields, status, message] of cases) {
      const r = await submit(fields);
      expect({ what, status: r.status, message: errorText(r.body) }).toEqual({ what, status, message });
    }
    const huge = await v.post('/enroll/kdanshinnet/key', { formToken: await v.token('/enroll/kdanshinnet/key'), requestId: 'x'.repeat(10_000) });
    expect(huge.status).toBe(413);
    expect(errorText(huge.body)).toBe(MESSAGES.badRequest);
    expect(await state(alice)).toBe('awaitingKeyRetrieval');
    expect(await state(bob)).toBe('awaitingKeyRetrieval');
  });

  it('when the key is retrieved and downloaded, then the file is <userId>.p12 as application/x-pkcs12, and a second download or retrieval is refused', async () => {
    const v = new Visitor(h.httpUrl);
    await v.login('kdanshinnet', alice.userId, alice.password);
    const password = 'Alice-pkcs12-pw';
    const submitted = await v.post('/enroll/kdanshinnet/key', { formToken: await v.token('/enroll/kdanshinnet/key'), requestId: alice.requestId, password, passwordConfirmation: password });
    expect(submitted).toMatchObject({ status: 303, location: '/enroll/kdanshinnet/download' });
    const downloadToken = await v.token('/enroll/kdanshinnet/download');
    // Until Download the PKCS#12 waits in the session, in the database: sealed, so no piece of it is there in clear.
    const waiting = sqliteBytes(h.runtime.config.db.connection);
    expect(waiting.includes(Buffer.from('"sealedPkcs12"'))).toBe(true);
    const download = await v.post('/enroll/kdanshinnet/download', { formToken: downloadToken });
    expect(download.status).toBe(200);
    const pkcs12 = Buffer.from(await download.res.clone().arrayBuffer());
    expect(holdsAny(waiting, pkcs12Pieces(pkcs12))).toBe(false);
    expect(download.res.headers.get('content-type')).toBe('application/x-pkcs12');
    expect(download.res.headers.get('content-disposition')).toMatch(/^attachment; filename="?emp101\.p12"?$/);
    const file = path.join(h.dir, 'alice.p12');
    fs.writeFileSync(file, Buffer.from(await download.res.arrayBuffer()));
    expect(execFileSync('openssl', ['pkcs12', '-in', file, '-passin', `pass:${password}`, '-nokeys', '-clcerts'], { encoding: 'utf8' })).toMatch(/CN\s*=\s*emp101/);
    await waitFor(async () => (await state(alice)) === 'active', 'alice active');
    expect((await v.post('/enroll/kdanshinnet/download', { formToken: downloadToken })).status).toBe(403);
    const again = await v.post('/enroll/kdanshinnet/download', { formToken: await v.token('/enroll/kdanshinnet/key') });
    expect(errorText(again.body)).toBe(MESSAGES.nothingToDownload);
    const retrieval = await v.post('/enroll/kdanshinnet/key', { formToken: await v.token('/enroll/kdanshinnet/key'), requestId: alice.requestId, password, passwordConfirmation: password });
    expect(retrieval.status).toBe(409);
    expect(errorText(retrieval.body)).toBe(MESSAGES.keyAlreadyRetrieved);
  });

  it('when a logged-in session stays idle past the timeout, then the next page says the session is no longer valid', async () => {
    const v = new Visitor(h.httpUrl);
    await v.login('kdanshinnet', bob.userId, bob.password);
    expect((await v.get('/enroll/kdanshinnet/')).status).toBe(200);
    await new Promise((r) => setTimeout(r, IDLE_MS + 500));
    const after = await v.get('/enroll/kdanshinnet/key');
    expect(after.status).toBe(401);
    expect(errorText(after.body)).toBe(MESSAGES.sessionInvalid);
  });

  it('when the TLS listener gets no certificate, a foreign one, or one of the other profile, then pages explain and the gate says forbidden', async () => {
    const none = await tlsRequest(h, '/renew/kdanshinnet/');
    expect(none.status).toBe(403);
    expect(errorText(none.body)).toBe(REFUSALS_JA.none);
    const dir = fs.mkdtempSync(path.join(h.dir, 'foreign-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/k.pem`, '-out', `${dir}/c.pem`, '-subj', '/CN=emp101/O=sampleCompany/C=JP', '-days', '30'], { stdio: 'pipe' });
    const foreign = { key: fs.readFileSync(`${dir}/k.pem`, 'utf8'), cert: fs.readFileSync(`${dir}/c.pem`, 'utf8') };
    expect(await tlsRequest(h, '/portal/kdanshinnet/', foreign)).toMatchObject({ status: 403, body: 'forbidden' });
    expect(errorText((await tlsRequest(h, '/renew/kdanshinnet/apply', foreign)).body)).toBe(REFUSALS_JA.foreign);
    const alicePfx = { pfx: fs.readFileSync(path.join(h.dir, 'alice.p12')), passphrase: 'Alice-pkcs12-pw' };
    expect(await tlsRequest(h, '/portal/kdanshinnet/', alicePfx)).toMatchObject({ status: 200 });
    expect(await tlsRequest(h, '/portal/nissay/', alicePfx)).toMatchObject({ status: 403, body: 'forbidden' });
    expect(await tlsRequest(h, '/portal/nobody/', alicePfx)).toMatchObject({ status: 403, body: 'forbidden' });
    // Renewal pages with the good certificate but bad request IDs.
    expect((await tlsRequest(h, `/renew/kdanshinnet/key?requestId=${bob.requestId}`, alicePfx)).status).toBe(404);
    expect((await tlsRequest(h, '/renew/kdanshinnet/processing/12345', alicePfx)).status).toBe(404);
    const forged = await tlsRequest(h, '/renew/kdanshinnet/apply', { ...alicePfx, method: 'POST', body: 'formToken=forged' });
    expect(forged.status).toBe(403);
    expect(await state(alice)).toBe('active');
  });

  it('when CRLs and CA certificates are asked for, then each profile gets its own and unknown ones a 404 page', async () => {
    for (const profile of ['kdanshinnet', 'nissay'] as const) {
      const crl = await fetch(`${h.httpUrl}/crl/${profile}.crl`);
      expect(crl.status).toBe(200);
      expect(crl.headers.get('content-type')).toBe('application/pkix-crl');
      const der = path.join(h.dir, `${profile}.crl`);
      fs.writeFileSync(der, Buffer.from(await crl.arrayBuffer()));
      const ca = await fetch(`${h.httpUrl}/ca/${profile}.pem`);
      const caFile = path.join(h.dir, `${profile}-ca.pem`);
      fs.writeFileSync(caFile, await ca.text());
      const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', der, '-CAfile', caFile, '-noout', '-issuer', '-nextupdate'], { encoding: 'utf8', stdio: 'pipe' });
      expect(text).toContain(h.runtime.profiles[profile].caCommonName);
      expect(text).toContain('nextUpdate=');
    }
    // The OCSP responder on the same listener: what it cannot read is an OCSP malformedRequest, never an error page.
    const ocsp = await fetch(`${h.httpUrl}/ocsp/kdanshinnet`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: 'garbage' });
    expect(ocsp.status).toBe(200);
    expect(ocsp.headers.get('content-type')).toBe('application/ocsp-response');
    expect(Buffer.from(await ocsp.arrayBuffer()).toString('hex')).toBe('30030a0101'); // OCSPResponse { responseStatus malformedRequest }
    for (const p of ['/crl/other.crl', '/ca/kdanshinnet.der', '/enroll/other/login', '/ocsp/other']) {
      const r = await fetch(`${h.httpUrl}${p}`, { headers: { accept: 'text/html' } });
      expect(r.status).toBe(404);
      expect(await r.text()).toContain(MESSAGES.notFound);
    }
  });

  it('when the guide mail is past its 30 days, then key retrieval says so and nothing is issued', async () => {
    const carol = await registerUser(h, 'emp303');
    const { password } = await readEnrollmentMails(h, carol);
    await h.env.sleep(31 * DAY);
    await waitFor(async () => (await state(carol)) === 'requestExpired', 'the request to expire');
    const v = new Visitor(h.httpUrl);
    expect((await v.login('kdanshinnet', carol.userId, password)).status).toBe(303);
    const r = await v.post('/enroll/kdanshinnet/key', { formToken: await v.token('/enroll/kdanshinnet/key'), requestId: carol.requestId, password: 'Carol-pkcs12-pw', passwordConfirmation: 'Carol-pkcs12-pw' });
    expect(r.status).toBe(409);
    expect(errorText(r.body)).toBe(MESSAGES.requestExpired);
    expect(await h.runtime.ca.certificatesOf('kdanshinnet', carol.userId)).toEqual([]);
  });

  // After the 30-day test: after a reissue of a key-ready request the time-skipping test server no longer skips time for env.sleep.
  it('when support reissues between 鍵の取得 and Download, then Download refuses with the reason and hands out no key', async () => {
    const registered = await registerUser(h, 'emp313');
    const carol = { ...registered, password: (await readEnrollmentMails(h, registered)).password };
    const v = new Visitor(h.httpUrl);
    await v.login('kdanshinnet', carol.userId, carol.password);
    const password = 'Carol-pkcs12-pw';
    const submitted = await v.post('/enroll/kdanshinnet/key', { formToken: await v.token('/enroll/kdanshinnet/key'), requestId: carol.requestId, password, passwordConfirmation: password });
    expect(submitted).toMatchObject({ status: 303, location: '/enroll/kdanshinnet/download' });
    const downloadToken = await v.token('/enroll/kdanshinnet/download');

    await reissue(h.domain, { agent: 'support-tanaka', role: 'support' }, { userId: carol.userId });
    const download = await v.post('/enroll/kdanshinnet/download', { formToken: downloadToken });
    expect(download.status).toBe(409);
    expect(download.res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(errorText(download.body)).toBe(MESSAGES.requestWithdrawn);
    expect(await state(carol)).toBe('revoked');
  });

  it('when logins fail too fast from one address, then it is rate limited with a Japanese page', async () => {
    let last = { status: 0, body: '' };
    // Each guess at another user ID: what the address limit is for (one ID alone is slowed down by its own throttle).
    for (let i = 0; i < 45 && last.status !== 429; i++) last = await new Visitor(h.httpUrl).login('kdanshinnet', `nobody${i}`, 'nothing-here');
    expect(last.status).toBe(429);
    expect(errorText(last.body)).toBe(MESSAGES.loginRateLimited);
  });
});
