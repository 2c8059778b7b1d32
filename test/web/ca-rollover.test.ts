// CA rollover on the time-skipping server: a certificate of the old CA and one of the new both pass the gate, renew
// (under the new CA) and revoke (each on its own CA's CRL, OCSP revoked for each); the CA file lists both; the CLI.
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { statusQuery } from '../../workflows/definitions';
import { readEnrollmentMails, registerUser, startWebHarness, tlsRequest, waitFor, type WebHarness } from './harness';
import { Visitor } from './visitor';

const run = promisify(execFile);
const DAY = 24 * 60 * 60 * 1000;

/** A user's first certificate, retrieved as the enrollment pages give it (PKCS#12). */
async function enroll(h: WebHarness, userId: string) {
  const user = await registerUser(h, userId);
  const { password, requestId } = await readEnrollmentMails(h, user);
  const v = new Visitor(h.httpUrl);
  expect((await v.login('kdanshinnet', userId, password)).status).toBe(303);
  const passphrase = `Rollover-${userId}-pw1`;
  expect((await v.post('/enroll/kdanshinnet/key', { formToken: await v.token('/enroll/kdanshinnet/key'), requestId, password: passphrase, passwordConfirmation: passphrase })).status).toBe(303);
  const download = await v.post('/enroll/kdanshinnet/download', { formToken: await v.token('/enroll/kdanshinnet/download') });
  expect(download.status).toBe(200);
  const pfx = Buffer.from(await download.res.arrayBuffer());
  const handle = h.env.client.workflow.getHandle(user.workflowId);
  const active = await waitFor(async () => ((await handle.query(statusQuery)).state === 'active' ? handle.query(statusQuery) : undefined), `${userId} active`);
  const [issued] = await h.runtime.ca.certificatesOf('kdanshinnet', userId);
  return { user, pfx, passphrase, serial: active.serial!, notAfter: issued!.notAfter, certificate: new crypto.X509Certificate(issued!.certificatePem), file: write(h, `${userId}.pem`, issued!.certificatePem) };
}

function write(h: WebHarness, name: string, content: string | Buffer): string {
  const file = path.join(h.dir, name);
  fs.writeFileSync(file, content);
  return file;
}

/** 証明書更新申請 over TLS with the certificate, as the renewal pages take it; the successor's certificate once issued. */
async function renew(h: WebHarness, holder: Awaited<ReturnType<typeof enroll>>) {
  const client = { pfx: holder.pfx, passphrase: holder.passphrase };
  const page = await tlsRequest(h, '/renew/kdanshinnet/apply', client);
  expect(page.status).toBe(200);
  const cookie = String(page.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
  const formToken = /name="formToken" value="([^"]+)"/.exec(page.body)?.[1];
  expect(formToken).toBeDefined();
  const applied = await tlsRequest(h, '/renew/kdanshinnet/apply', { ...client, method: 'POST', cookie, body: `formToken=${encodeURIComponent(formToken!)}` });
  expect(applied.status).toBe(303);
  const successorRequestId = /processing\/(\d{15})/.exec(String(applied.headers.location))![1]!;
  // The successor is signed when its key is retrieved (鍵の取得), once it awaits it.
  await waitFor(async () => (await tlsRequest(h, `/renew/kdanshinnet/processing/${successorRequestId}`, { ...client, cookie })).status === 303 || undefined, 'the successor to await its key');
  const keyPage = await tlsRequest(h, `/renew/kdanshinnet/key?requestId=${successorRequestId}`, { ...client, cookie });
  const keyToken = /name="formToken" value="([^"]+)"/.exec(keyPage.body)![1]!;
  const password = 'Renewed-rollover-pw1';
  const body = new URLSearchParams({ formToken: keyToken, requestId: successorRequestId, password, passwordConfirmation: password }).toString();
  expect((await tlsRequest(h, '/renew/kdanshinnet/key', { ...client, method: 'POST', cookie, body })).status).toBe(303);
  const list = await waitFor(async () => {
    const all = await h.runtime.ca.certificatesOf('kdanshinnet', holder.user.userId);
    return all.length === 2 ? all : undefined;
  }, `the renewal of ${holder.user.userId} to be issued`);
  return list[0]!;
}

const pemsOf = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];

describe('CA rollover', () => {
  let h: WebHarness;

  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('when the CA is rolled over between two users, then both certificates pass the gate, renew under the new CA, and revoke on their own CA', async () => {
    const before = await enroll(h, 'emp811');
    const oldCaPem = await h.runtime.ca.caCertificatePem('kdanshinnet');
    const rolled = await h.runtime.ca.rollover('kdanshinnet', new Date(await h.env.currentTimeMs()));
    expect(rolled.generation).toBe(2);
    const after = await enroll(h, 'emp812');

    // Published side by side: each certificate is signed by its own generation, which has its own name and CRL URL.
    const oldCa = new crypto.X509Certificate(oldCaPem);
    const newCa = new crypto.X509Certificate(rolled.certificatePem);
    expect(newCa.subject).toMatch(/CN=.* G2$/m);
    expect(before.certificate.verify(oldCa.publicKey)).toBe(true);
    expect(after.certificate.verify(newCa.publicKey)).toBe(true);
    expect(after.certificate.verify(oldCa.publicKey)).toBe(false);
    const caFile = await fetch(`${h.httpUrl}/ca/kdanshinnet.pem`).then((r) => r.text());
    expect(pemsOf(caFile).map((pem) => new crypto.X509Certificate(pem).fingerprint256)).toEqual([newCa.fingerprint256, oldCa.fingerprint256]);
    const bundle = write(h, 'ca-bundle.pem', caFile);
    for (const holder of [before, after]) {
      // openssl, as a portal trusting the CA file, verifies both.
      expect(execFileSync('openssl', ['verify', '-CAfile', bundle, holder.file], { encoding: 'utf8' })).toContain(': OK');
      expect((await tlsRequest(h, '/portal/kdanshinnet/', { pfx: holder.pfx, passphrase: holder.passphrase })).status).toBe(200);
    }
    expect(execFileSync('openssl', ['x509', '-noout', '-ext', 'crlDistributionPoints', '-in', after.file], { encoding: 'utf8' })).toContain('/crl/kdanshinnet.g2.crl');

    // Both renew in their window; the renewals are signed by the new CA.
    await h.env.sleep(before.notAfter.getTime() - 20 * DAY - (await h.env.currentTimeMs()));
    for (const holder of [before, after]) {
      const renewed = await renew(h, holder);
      expect(renewed.caGeneration).toBe(2);
      expect(new crypto.X509Certificate(renewed.certificatePem).verify(newCa.publicKey)).toBe(true);
    }

    // Both revoke: each on its own CA's CRL (signed by that CA), and OCSP says revoked for each.
    for (const holder of [before, after]) await h.runtime.ca.revoke({ serial: holder.serial, reason: 'keyCompromise', revokedAt: new Date(await h.env.currentTimeMs()) });
    const oldCaFile = write(h, 'old-ca.pem', oldCaPem);
    const newCaFile = write(h, 'new-ca.pem', rolled.certificatePem);
    for (const [url, caPem, listed, absent] of [
      ['/crl/kdanshinnet.crl', oldCaFile, before, after],
      ['/crl/kdanshinnet.g2.crl', newCaFile, after, before],
    ] as const) {
      const der = write(h, path.basename(url), Buffer.from(await (await fetch(`${h.httpUrl}${url}`)).arrayBuffer()));
      const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', der, '-CAfile', caPem, '-noout', '-text'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(text.toLowerCase()).toContain(`serial number: ${listed.serial}`);
      expect(text.toLowerCase()).not.toContain(absent.serial);
    }
    for (const [holder, caPem] of [[before, oldCaFile], [after, newCaFile]] as const) {
      // Verified at business time (the test server's, years ahead), when the responder's certificate was issued.
      const attime = String(Math.floor((await h.env.currentTimeMs()) / 1000));
      const asked = await run('openssl', ['ocsp', '-issuer', caPem, '-CAfile', caPem, '-attime', attime, '-cert', holder.file, '-url', `${h.httpUrl}/ocsp/kdanshinnet`]);
      expect(asked.stderr).toContain('Response verify OK');
      // openssl warns that the answer's times are ahead of its own clock (business time), then gives the status.
      expect(asked.stdout).toMatch(/(: |\n)revoked\n\s+This Update/);
      expect(asked.stdout).toContain('Reason: keyCompromise');
      expect((await tlsRequest(h, '/portal/kdanshinnet/', { pfx: holder.pfx, passphrase: holder.passphrase })).status).toBe(403);
    }

    // Once the old CA's last certificate has expired, the CA file and the TLS listener's list no longer carry it.
    const lastOld = before.notAfter.getTime();
    const generations = await h.runtime.ca.caGenerations('kdanshinnet');
    expect(generations.map((g) => [g.generation, g.current])).toEqual([[2, true], [1, false]]);
    expect(pemsOf(await h.runtime.ca.caCertificatesPem('kdanshinnet', new Date(lastOld - 1000)))).toHaveLength(2);
    expect(pemsOf(await h.runtime.ca.caCertificatesPem('kdanshinnet', new Date(lastOld + 1000)))).toEqual([rolled.certificatePem.trimEnd() + '\n']);
  });
});

describe('npm run ca:rollover', () => {
  const tsx = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
  const script = path.join(__dirname, '..', '..', 'scripts', 'ca-rollover.ts');
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-rollover-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const rollover = (...args: string[]) =>
    run(tsx, [script, ...args], { env: { ...process.env, CERTFLOW_DATA_DIR: dir, CERTFLOW_LOG_LEVEL: 'silent' } }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );

  it('when run on a fresh installation and then twice in a row, then it creates the first CA, then generations 2 and 3; a bad profile is refused', async () => {
    const fresh = await rollover('nissay');
    expect(fresh).toMatchObject({ code: 0 });
    expect(fresh.out).toContain('nissay: there was no CA to roll over; generation 1 created');
    const second = await rollover('nissay');
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/nissay: generation 2 now signs every new certificate — .*CN=.* G2;/);
    expect(second.out).toContain('generation 1: no certificate of it is still valid, no longer published');
    const third = await rollover('nissay');
    expect(third.out).toMatch(/nissay: generation 3 now signs every new certificate — .*G3;/);
    expect(third.out).toContain('generation 2: no certificate');
    const bad = await rollover('nobody');
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('usage: npm run ca:rollover <profile>, the profile one of kdanshinnet, nissay, operators (not "nobody")');
  });
});
