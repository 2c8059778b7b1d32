// The OCSP responder on the plain HTTP listener, asked by its real consumer `openssl ocsp` (POST, nonce, signature
// checked against the CA) and over GET; revocations by another process seen at once; malformed requests answered as such.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import express from 'express';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse, OCSPResponseStatus } from '@peculiar/asn1-ocsp';
import { publicationRouter } from '../../api/web/router';
import { errorHandler } from '../../api/errors';
import { buildProfiles, createCertificateAuthority, createPkiStore, type CertificateAuthority } from '../../engines/pki';
import { x509 } from '../../engines/pki/crypto-provider';
import { createDb, type Db } from '../../infra/db';
import { createLogger } from '../../infra/logger';
import { CA_PASSPHRASE, createPkiFixture, NOW, run, subjectOf, THREE_YEARS_LATER, write, type PkiFixture } from './support';

let fixture: PkiFixture;
let ca: CertificateAuthority;
let server: http.Server;
let base: string;
let dir: string;
let caFile: string;
let sequence = 0;

/** A web process of its own: its own database pool and authority over the same database file. */
function anotherProcess(): { db: Db; ca: CertificateAuthority } {
  const db = createDb({ client: 'sqlite', connection: path.join(fixture.dir, 'certflow.sqlite') });
  const other = createCertificateAuthority({
    store: createPkiStore(db),
    caDir: fixture.caDir,
    caPassphrase: CA_PASSPHRASE,
    dataKey: fixture.dataKey,
    profiles: buildProfiles({ publicUrl: base }),
  });
  return { db, ca: other };
}

async function issue(userId: string, profile: 'kdanshinnet' | 'nissay' = 'kdanshinnet') {
  const requestId = `${profile === 'kdanshinnet' ? '2026112600' : '2026112610'}${String(++sequence).padStart(5, '0')}`;
  const issued = await ca.issue({ requestId, ...subjectOf(userId, profile), notBefore: NOW, notAfter: THREE_YEARS_LATER });
  return { ...issued, file: write(dir, `${requestId}.pem`, issued.certificatePem) };
}

/** `openssl ocsp` as a relying party runs it: POST with a nonce, the answer verified against the CA certificate. */
async function opensslOcsp(args: string[], url = `${base}/ocsp/kdanshinnet`) {
  const result = await run('openssl', ['ocsp', '-issuer', caFile, '-CAfile', caFile, '-url', url, '-resp_text', ...args]);
  return { ...result, all: result.stdout + result.stderr };
}

async function post(body: Buffer | string, contentType = 'application/ocsp-request', profile = 'kdanshinnet') {
  const response = await fetch(`${base}/ocsp/${profile}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, type: response.headers.get('content-type'), der: Buffer.from(await response.arrayBuffer()) };
}

const basicOf = (der: Buffer) => AsnConvert.parse(AsnConvert.parse(der, OCSPResponse).responseBytes!.response.buffer, BasicOCSPResponse);
const thisUpdateOf = (der: Buffer) => basicOf(der).tbsResponseData.responses[0]!.thisUpdate;
const statusOf = (der: Buffer) => OCSPResponseStatus[AsnConvert.parse(der, OCSPResponse).responseStatus];

/** The DER request openssl would send for `certificateFile`, without a nonce (as nginx sends it). */
async function requestFor(certificateFile: string): Promise<Buffer> {
  const out = path.join(dir, `req-${++sequence}.der`);
  const made = await run('openssl', ['ocsp', '-issuer', caFile, '-cert', certificateFile, '-no_nonce', '-reqout', out]);
  expect(made.code).toBe(0);
  return fs.readFileSync(out);
}

beforeAll(async () => {
  fixture = await createPkiFixture('ocsp');
  dir = fs.mkdtempSync(path.join(fixture.dir, 'files-'));
  const app = express();
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  ca = createCertificateAuthority({
    store: fixture.store,
    caDir: fixture.caDir,
    caPassphrase: CA_PASSPHRASE,
    dataKey: fixture.dataKey,
    profiles: buildProfiles({ publicUrl: base }),
  });
  await ca.ensureCas(NOW);
  // The relying parties' clock: OCSP answers are checked against real time, never the business clock.
  app.use(publicationRouter({ ca, clock: () => new Date() }));
  app.use(errorHandler(createLogger('silent')));
  caFile = write(dir, 'ca.pem', await ca.caCertificatePem('kdanshinnet'));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await fixture.close();
});

test('when openssl asks about a certificate just issued, then the answer is good, carries the nonce and verifies against the CA', async () => {
  const user = await issue('emp301');
  const asked = await opensslOcsp(['-cert', user.file]);
  expect(asked.stdout).toContain(`${user.file}: good`);
  expect(asked.stderr).toContain('Response verify OK');
  expect(asked.all).not.toContain('WARNING'); // e.g. "no nonce in response", "Status times invalid"
  expect(asked.stdout).toContain('OCSP Response Status: successful (0x0)');
  expect(asked.stdout).toContain('OCSP Nonce:');
  expect(asked.stdout).toMatch(/Responder Id: [0-9A-F]{40}/); // by key hash
  expect(asked.stdout).toMatch(/This Update: .+\n\s+Next Update: .+/);
  // The answer is signed by the delegated responder, whose certificate it carries.
  const signerPem = await ca.ocspSignerPem('kdanshinnet', new Date());
  expect(asked.stdout).toContain(signerPem.trim());
  const signer = await run('openssl', ['x509', '-noout', '-text', '-in', write(dir, 'signer.pem', signerPem)]);
  expect(signer.stdout).toContain('Subject: C = JP, O = "Nissay Information Technology Co., Ltd.", CN = Nissay Information Technology KDanshinnet CA OCSP Responder');
  expect(signer.stdout).toContain('Issuer: C = JP, O = "Nissay Information Technology Co., Ltd.", CN = Nissay Information Technology KDanshinnet CA');
  expect(signer.stdout).toMatch(/X509v3 Extended Key Usage: critical\s+OCSP Signing\n/);
  expect(signer.stdout).toMatch(/Key Usage: critical\s+Digital Signature\n/);
  expect(signer.stdout).toContain('OCSP No Check');
  expect((await run('openssl', ['verify', '-CAfile', caFile, '-purpose', 'ocsphelper', write(dir, 'signer.pem', signerPem)])).stdout).toContain(': OK');

  // The URL it asked is the one in the certificate's Authority Information Access.
  const uri = await run('openssl', ['x509', '-in', user.file, '-noout', '-ocsp_uri']);
  expect(uri.stdout.trim()).toBe(`${base}/ocsp/kdanshinnet`);
});

test('when a certificate is revoked, or superseded by a reissue, then the very next answer is revoked with its time and reason', async () => {
  const user = await issue('emp302');
  expect((await opensslOcsp(['-cert', user.file])).stdout).toContain(`${user.file}: good`);
  const revokedAt = new Date('2026-11-26T03:04:05Z');
  await ca.revoke({ serial: user.serial, reason: 'keyCompromise', revokedAt });
  const asked = await opensslOcsp(['-cert', user.file]);
  expect(asked.stderr).toContain('Response verify OK');
  expect(asked.stdout).toContain(`${user.file}: revoked`);
  expect(asked.stdout).toContain('Reason: keyCompromise');
  expect(asked.stdout).toContain('Revocation Time: Nov 26 03:04:05 2026 GMT');

  // A reissue: the new certificate is good, the one it replaces revoked as superseded.
  const before = await issue('emp303');
  const after = await issue('emp303');
  await ca.revoke({ serial: before.serial, reason: 'superseded', revokedAt: new Date() });
  const both = await opensslOcsp(['-cert', before.file, '-cert', after.file]);
  expect(both.stderr).toContain('Response verify OK');
  expect(both.stdout).toContain(`${before.file}: revoked`);
  expect(both.stdout).toContain('Reason: superseded');
  expect(both.stdout).toContain(`${after.file}: good`);
});

test('when openssl asks about a serial this CA never issued, or a certificate of the other CA, then the answer is unknown', async () => {
  const foreign = await opensslOcsp(['-serial', '0x4abcdef0123456789abcdef012345678']);
  expect(foreign.stderr).toContain('Response verify OK');
  expect(foreign.stdout).toContain('0x4abcdef0123456789abcdef012345678: unknown');

  // A nissay certificate asked of the kdanshinnet responder: its CertID names another issuer.
  const other = await issue('emp304', 'nissay');
  const nissayCa = write(dir, 'nissay-ca.pem', await ca.caCertificatePem('nissay'));
  const asked = await run('openssl', ['ocsp', '-issuer', nissayCa, '-cert', other.file, '-CAfile', caFile, '-url', `${base}/ocsp/kdanshinnet`]);
  expect(asked.stdout).toContain(`${other.file}: unknown`);
  // Asked of its own responder, it is good.
  const own = await run('openssl', ['ocsp', '-issuer', nissayCa, '-cert', other.file, '-CAfile', nissayCa, '-url', `${base}/ocsp/nissay`]);
  expect(own.stderr).toContain('Response verify OK');
  expect(own.stdout).toContain(`${other.file}: good`);
});

test('when a request comes as GET (base64 in the path, as nginx sends it), then it is answered as the POST is', async () => {
  const user = await issue('emp305');
  const request = await requestFor(user.file);
  const response = await fetch(`${base}/ocsp/kdanshinnet/${encodeURIComponent(request.toString('base64'))}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/ocsp-response');
  expect(response.headers.get('cache-control')).toBe('no-cache');
  const respFile = write(dir, 'get-response.der', Buffer.from(await response.arrayBuffer()));
  const checked = await run('openssl', ['ocsp', '-respin', respFile, '-issuer', caFile, '-cert', user.file, '-CAfile', caFile]);
  expect(checked.stderr).toContain('Response verify OK');
  expect(checked.stdout).toContain(`${user.file}: good`);
  // Left unescaped (some clients send "/", "+" and "=" as they are), it is the same request.
  const unescaped = await fetch(`${base}/ocsp/kdanshinnet/${request.toString('base64')}`);
  const unescapedFile = write(dir, 'get-unescaped.der', Buffer.from(await unescaped.arrayBuffer()));
  expect((await run('openssl', ['ocsp', '-respin', unescapedFile, '-issuer', caFile, '-cert', user.file, '-CAfile', caFile])).stdout).toContain(`${user.file}: good`);
});

test('when another process revokes a certificate, then this process answers revoked at once although it reused its answer before', async () => {
  const user = await issue('emp306');
  const request = await requestFor(user.file);
  const first = await post(request);
  const again = await post(request);
  expect(again.der.equals(first.der)).toBe(true); // no nonce, same state: the signed answer is reused
  const other = anotherProcess();
  try {
    await other.ca.revoke({ serial: user.serial, reason: 'affiliationChanged', revokedAt: new Date() });
  } finally {
    await other.db.destroy();
  }
  const after = await post(request);
  expect(after.der.equals(first.der)).toBe(false);
  const respFile = write(dir, 'after-other.der', after.der);
  const checked = await run('openssl', ['ocsp', '-respin', respFile, '-issuer', caFile, '-cert', user.file, '-CAfile', caFile]);
  expect(checked.stdout).toContain(`${user.file}: revoked`);
  expect(checked.stdout).toContain('Reason: affiliationChanged');
});

test('when the status is unchanged, then a signed answer is reused for 30 s only, and a request with a nonce is always signed anew', async () => {
  const user = await issue('emp308');
  const request = await requestFor(user.file);
  const t0 = new Date();
  const at = (seconds: number) => ca.ocspResponse('kdanshinnet', request, new Date(t0.getTime() + seconds * 1000));
  const first = await at(0);
  expect((await at(29)).equals(first)).toBe(true);
  const fresh = await at(31);
  expect(fresh.equals(first)).toBe(false);
  expect(thisUpdateOf(fresh).getTime() - thisUpdateOf(first).getTime()).toBe(31_000);

  const withNonce = await run('openssl', ['ocsp', '-issuer', caFile, '-cert', user.file, '-reqout', path.join(dir, 'nonce.der')]);
  expect(withNonce.code).toBe(0);
  const nonceRequest = fs.readFileSync(path.join(dir, 'nonce.der'));
  const [a, b] = [await ca.ocspResponse('kdanshinnet', nonceRequest, t0), await ca.ocspResponse('kdanshinnet', nonceRequest, new Date(t0.getTime() + 5000))];
  expect(thisUpdateOf(b).getTime() - thisUpdateOf(a).getTime()).toBe(5000);
});

test('when a request is malformed, then the answer is an OCSP malformedRequest (HTTP 200), never a server error; an unknown profile is a 404', async () => {
  const user = await issue('emp307');
  const valid = await requestFor(user.file);
  const malformed = [
    await post(Buffer.from('not an OCSP request')),
    await post(valid.subarray(0, valid.length - 3)),
    await post(valid, 'text/plain'),
    await post(Buffer.alloc(20_000, 0x30)),
    await post(Buffer.alloc(0)),
  ];
  for (const get of ['/ocsp/kdanshinnet', '/ocsp/kdanshinnet/%%%', '/ocsp/kdanshinnet/bm90IGFuIE9DU1AgcmVxdWVzdA==', `/ocsp/kdanshinnet/${'A'.repeat(9000)}`]) {
    const response = await fetch(`${base}${get}`);
    malformed.push({ status: response.status, type: response.headers.get('content-type'), der: Buffer.from(await response.arrayBuffer()) });
  }
  for (const answer of malformed) {
    expect(answer).toMatchObject({ status: 200, type: 'application/ocsp-response' });
    expect(statusOf(answer.der)).toBe('malformedRequest');
  }
  const respFile = write(dir, 'malformed.der', malformed[0].der);
  expect((await run('openssl', ['ocsp', '-respin', respFile, '-resp_text'])).stdout).toContain('Responder Error: malformedrequest (1)');

  expect((await post(valid, 'application/ocsp-request', 'other')).status).toBe(404);
  expect((await fetch(`${base}/ocsp/other/${encodeURIComponent(valid.toString('base64'))}`)).status).toBe(404);
});

test('when the signing certificate passes half its validity, then the CA issues a new one, once, whichever processes ask', async () => {
  const first = new x509.X509Certificate(await ca.ocspSignerPem('kdanshinnet', new Date()));
  expect(first.issuer).toBe(new x509.X509Certificate(await ca.caCertificatePem('kdanshinnet')).subject);
  const lifetime = first.notAfter.getTime() - first.notBefore.getTime();
  expect(lifetime).toBeGreaterThan(29 * 86_400_000);
  const later = new Date(first.notBefore.getTime() + lifetime * 0.6);
  const processes = [anotherProcess(), anotherProcess()];
  try {
    const renewed = await Promise.all([ca, ...processes.map((p) => p.ca)].map((authority) => authority.ocspSignerPem('kdanshinnet', later)));
    expect(new Set(renewed).size).toBe(1); // one winner, every process signs with it
    expect(renewed[0]).not.toBe(first.toString('pem'));
    expect((await fixture.store.findOcspResponder('kdanshinnet'))!.certificatePem).toBe(renewed[0]);
    // The key is in the database only encrypted with the CA passphrase.
    expect((await fixture.store.findOcspResponder('kdanshinnet'))!.encryptedKeyPem).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
  } finally {
    for (const p of processes) await p.db.destroy();
  }
});
