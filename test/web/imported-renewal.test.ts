// Renewal over TLS client authentication with a certificate imported from the bank's previous CA (made here), presented
// by Node's https client: the renewal pages admit it and renew it into a certificate of certflow's CA; the portal gate
// and the console purpose never admit it; once revoked in certflow, the renewal pages refuse it too.
import { execFile as execFileCallback, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { createClientCertificateCheck, importCertificate, revoke, trustPreviousCa } from '../../domain';
import { REFUSALS_JA } from '../../api/web/messages';
import { statusQuery } from '../../workflows/definitions';
import { createTestPreviousCa, type IssuedByPreviousCa, type TestPreviousCa } from '../support/previous-ca';
import { errorText } from './visitor';
import { formTokenOf, startWebHarness, tlsBrowser, tlsRequest, waitFor, type WebHarness } from './harness';

const DAY = 86_400_000;
const execFile = promisify(execFileCallback);

describe('renewal over TLS with an imported certificate', () => {
  let h: WebHarness;
  let previous: TestPreviousCa;

  beforeAll(async () => {
    previous = await createTestPreviousCa('Bank A Old Client CA');
    // Trusted before the listener is built, so its first CertificateRequest names the previous CA too.
    h = await startWebHarness({}, {}, async (runtime) => {
      await runtime.previousCas.trust('kdanshinnet', previous.certificatePem, new Date());
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const registration = (userId: string) => ({
    userId,
    profile: 'kdanshinnet' as const,
    email: `${userId}@bank-a.example.jp`,
    idAdminEmail: `id-admin-${userId}@bank-a.example.jp`,
    organization: 'sampleCompany',
    organizationalUnits: ['div1-1-1', 'div1-1', 'div1'],
    subscriberId: userId,
  });

  /** A live certificate of the previous CA, `daysLeft` days from its end in the test server's time, imported. */
  async function imported(userId: string, daysLeft: number) {
    const now = await h.env.currentTimeMs();
    const issued = await previous.issue({ userId, notBefore: new Date(now - 700 * DAY), notAfter: new Date(now + daysLeft * DAY) });
    const request = await importCertificate(h.domain, { ...registration(userId), certificatePem: issued.certificatePem });
    return { issued, request };
  }

  const browserWith = (issued: IssuedByPreviousCa) => tlsBrowser(h, { key: issued.keyPem, cert: issued.certificatePem });
  const tokenOf = formTokenOf;

  it('names the previous CA as acceptable in the TLS handshake, next to certflow’s', async () => {
    // Asynchronously: the listener runs in this process and must answer the handshake.
    const client = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${h.tlsPort}`, '-servername', 'localhost'], { encoding: 'utf8', timeout: 20_000 });
    client.child.stdin?.end();
    const handshake = (await client).stdout;
    const names = handshake.slice(handshake.indexOf('Acceptable client certificate CA names'));
    expect(names).toContain('Bank A Old Client CA');
    expect(names).toContain(h.runtime.profiles.kdanshinnet.caCommonName);
  });

  it('when the user renews with the imported certificate, then the successor is a renewal whose certificate certflow’s CA signed, while the portal gate refuses the imported one', async () => {
    const { issued, request } = await imported('emp101', 20);
    const browse = browserWith(issued);

    // The relying portal never admits a previous CA's certificate.
    expect(await tlsRequest(h, '/portal/kdanshinnet/', { key: issued.keyPem, cert: issued.certificatePem })).toMatchObject({ status: 403, body: 'forbidden' });

    const top = await browse('/renew/kdanshinnet/');
    expect(top.status).toBe(200);
    expect(top.body).toContain('emp101');
    const apply = await browse('/renew/kdanshinnet/apply');
    expect(apply.status).toBe(200);
    for (const shown of ['emp101', 'div1-1-1', 'sampleCompany', 'emp101@bank-a.example.jp']) expect(apply.body).toContain(shown);
    const submitted = await browse('/renew/kdanshinnet/apply', { formToken: tokenOf(apply.body) });
    expect(submitted.status).toBe(303);
    const successorRequestId = /\/processing\/(\d{15})$/.exec(String(submitted.headers.location))?.[1];
    expect(successorRequestId).toMatch(/^\d{15}$/);

    // Processing refreshes until the successor awaits its key, then leads to 鍵の取得 with its request ID.
    const keyPath = await waitFor(async () => {
      const res = await browse(`/renew/kdanshinnet/processing/${successorRequestId}`);
      return res.status === 303 ? String(res.headers.location) : undefined;
    }, 'the successor to await its key');
    expect(keyPath).toBe(`/renew/kdanshinnet/key?requestId=${successorRequestId}`);
    const keyPage = await browse(keyPath);
    const password = 'Renewed-from-old-CA-1';
    const retrieved = await browse('/renew/kdanshinnet/key', { formToken: tokenOf(keyPage.body), requestId: successorRequestId!, password, passwordConfirmation: password });
    expect(retrieved).toMatchObject({ status: 303, headers: { location: '/renew/kdanshinnet/download' } });
    const downloadPage = await browse('/renew/kdanshinnet/download');
    const download = await browse('/renew/kdanshinnet/download', { formToken: tokenOf(downloadPage.body) });
    expect(download.status).toBe(200);
    expect(download.headers['content-type']).toMatch(/application\/x-pkcs12/);

    // The renewed certificate is certflow's: signed by the kdanshinnet CA, and it opens the portal gate.
    const p12File = path.join(h.dir, 'emp101-renewed.p12');
    fs.writeFileSync(p12File, download.raw);
    const renewedPem = execFileSync('openssl', ['pkcs12', '-in', p12File, '-passin', `pass:${password}`, '-nokeys', '-clcerts'], { encoding: 'utf8' });
    const renewed = new crypto.X509Certificate(renewedPem.slice(renewedPem.indexOf('-----BEGIN CERTIFICATE-----')));
    const certflowCa = new crypto.X509Certificate(await h.runtime.ca.caCertificatePem('kdanshinnet'));
    expect(renewed.checkIssued(certflowCa) && renewed.verify(certflowCa.publicKey)).toBe(true);
    expect(renewed.subject).toContain('CN=emp101');
    const gate = await tlsRequest(h, '/portal/kdanshinnet/', { pfx: download.raw, passphrase: password });
    expect(gate.status).toBe(200);
    expect(JSON.parse(gate.body)).toMatchObject({ subject: 'CN=emp101, OU=div1-1-1, OU=div1-1, OU=div1, O=sampleCompany, C=JP' });

    const successor = h.env.client.workflow.getHandle(`certificate-kdanshinnet-${successorRequestId}`);
    await waitFor(async () => (await successor.query(statusQuery)).state === 'active', 'the renewed certificate to become active');
    expect(await successor.query(statusQuery)).toMatchObject({ kind: 'renewal', predecessorWorkflowId: request.workflowId });
    expect((await h.env.client.workflow.getHandle(request.workflowId).query(statusQuery)).state).toBe('renewed');
    // Renewed, the imported certificate still opens the renewal pages (its successor's), and a second renewal is refused.
    const resume = await browse('/renew/kdanshinnet/resume');
    expect(resume.status).toBe(200);
    expect(resume.body).toContain(successorRequestId);
    expect((await browse('/renew/kdanshinnet/apply')).status).toBe(409);
  });

  it('when the imported certificate is presented for the gate or the console, then it is foreign; for renewal it is admitted', async () => {
    const { issued } = await imported('emp102', 200);
    const check = createClientCertificateCheck(h.domain);
    const socket = () => ({ getPeerX509Certificate: () => new crypto.X509Certificate(issued.certificatePem) }) as unknown as TLSSocket;
    expect(await check(socket(), 'kdanshinnet', 'gate')).toEqual({ ok: false, refusal: 'foreign' });
    expect(await check(socket(), 'kdanshinnet', 'console')).toEqual({ ok: false, refusal: 'foreign' });
    expect(await check(socket(), 'kdanshinnet', 'renewal')).toMatchObject({ ok: true, certificate: { userId: 'emp102', serial: issued.serial } });
    expect(await check(socket(), 'nissay', 'renewal')).toEqual({ ok: false, refusal: 'foreign' });
    // A certificate of the previous CA that was never imported is not admitted either.
    const stray = await previous.issue({ userId: 'emp199', notBefore: new Date((await h.env.currentTimeMs()) - DAY), notAfter: new Date((await h.env.currentTimeMs()) + 300 * DAY) });
    expect((await tlsRequest(h, '/renew/kdanshinnet/', { key: stray.keyPem, cert: stray.certificatePem })).status).toBe(403);
  });

  it('when an imported certificate is revoked in certflow, then the renewal pages refuse it as revoked', async () => {
    const { issued } = await imported('emp103', 200);
    const client = { key: issued.keyPem, cert: issued.certificatePem };
    expect((await tlsRequest(h, '/renew/kdanshinnet/', client)).status).toBe(200);
    await revoke(h.domain, { agent: 'admin-test', role: 'admin' }, { userId: 'emp103', profile: 'kdanshinnet', reason: 'keyCompromise' });
    const refused = await tlsRequest(h, '/renew/kdanshinnet/', client);
    expect(refused.status).toBe(403);
    expect(errorText(refused.body)).toBe(REFUSALS_JA.revoked);
  });

  it('when a second previous CA is trusted, then its certificates, refused as foreign before, are imported', async () => {
    const stranger = await createTestPreviousCa('Stranger CA');
    const now = await h.env.currentTimeMs();
    const issued = await stranger.issue({ userId: 'emp104', notBefore: new Date(now - DAY), notAfter: new Date(now + 300 * DAY) });
    await expect(importCertificate(h.domain, { ...registration('emp104'), certificatePem: issued.certificatePem })).rejects.toThrow(/not signed by a previous CA/);
    await trustPreviousCa(h.domain, { profile: 'kdanshinnet', certificatePem: stranger.certificatePem });
    await expect(importCertificate(h.domain, { ...registration('emp104'), certificatePem: issued.certificatePem })).resolves.toMatchObject({ userId: 'emp104', alreadyImported: false });
  });
});
