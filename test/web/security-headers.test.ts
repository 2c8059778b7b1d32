// The headers every answer carries, and the portal gate's answer for a subject that holds markup.
import { registerUser as register } from '../../domain';
import { readEnrollmentMails, startWebHarness, tlsRequest, type WebHarness } from './harness';
import { Visitor } from './visitor';

describe('security headers', () => {
  let h: WebHarness;

  beforeAll(async () => {
    h = await startWebHarness();
  });

  afterAll(async () => {
    await h?.close();
  });

  it('when a page is served over plain HTTP, then no inline script may run, nothing is sniffed, no referrer leaves, and no HSTS is claimed', async () => {
    const res = await fetch(`${h.httpUrl}/enroll/kdanshinnet/login`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('strict-transport-security')).toBeNull();
    expect(await res.text()).not.toMatch(/<script(?![^>]*\ssrc=)/);
  });

  it('when a user whose organisation is markup presents the certificate at the gate, then the subject comes back as JSON with nosniff and HSTS, and the renewal cookie is Secure', async () => {
    const registered = await register(h.domain, {
      userId: 'xss001',
      profile: 'kdanshinnet',
      email: 'xss001@bank-a.example.jp',
      idAdminEmail: 'id-admin-xss001@bank-a.example.jp',
      organization: '<svg/onload=alert(1)>',
      organizationalUnits: ['div1'],
      subscriberId: 'xss001',
    });
    const { password } = await readEnrollmentMails(h, { ...registered, email: 'xss001@bank-a.example.jp' });
    const v = new Visitor(h.httpUrl);
    await v.login('kdanshinnet', 'xss001', password);
    const pkcs12Password = 'Xss-pkcs12-pw';
    await v.post('/enroll/kdanshinnet/key', { formToken: await v.token('/enroll/kdanshinnet/key'), requestId: registered.requestId, password: pkcs12Password, passwordConfirmation: pkcs12Password });
    const download = await v.post('/enroll/kdanshinnet/download', { formToken: await v.token('/enroll/kdanshinnet/download') });
    expect(download.status).toBe(200);
    const pfx = Buffer.from(await download.res.arrayBuffer());

    const gate = await tlsRequest(h, '/portal/kdanshinnet/', { pfx, passphrase: pkcs12Password });
    expect(gate.status).toBe(200);
    expect(gate.headers['content-type']).toMatch(/^application\/json/);
    expect(gate.headers['x-content-type-options']).toBe('nosniff');
    expect(gate.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    // RFC 4514 escapes the DN's special characters; JSON carries the rest as data.
    expect(JSON.parse(gate.body).subject).toBe('CN=xss001, OU=div1, O=\\<svg/onload\\=alert(1)\\>, C=JP');

    // The key form issues a one-time token, so it stores a session and sets its cookie.
    const renewal = await tlsRequest(h, '/renew/kdanshinnet/key', { pfx, passphrase: pkcs12Password });
    expect(renewal.status).toBe(200);
    const cookies = renewal.headers['set-cookie'] ?? [];
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie).toMatch(/;\s*Secure/i);
  });
});
