// Diagnose a certificate: PEM or DER in, whose it is and the portal's exact reason out; anything else is a refusal.
import crypto from 'node:crypto';
import { diagnoseCertificate } from '../../domain';
import { x509 } from '../../engines/pki/crypto-provider';
import { forEachDatabase } from '../support/databases';
import { createDomainFixture, issueFor, type DomainFixture } from '../support/domain-fixture';

const DAY = 86_400_000;

async function foreignCertificatePem(): Promise<string> {
  const keys = await crypto.webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a0b', name: 'CN=Another CA, O=Elsewhere, C=JP', notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2030-01-01T00:00:00Z'),
    keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return cert.toString('pem');
}

forEachDatabase('the certificate diagnosis', (database) => {
  let f: DomainFixture;
  const at = (days: number) => new Date(f.now.getTime() + days * DAY);
  const iso = (days: number) => at(days).toISOString();
  beforeAll(async () => { f = await createDomainFixture(database.db); });
  afterAll(() => f.close());

  test('when a good certificate is given as PEM or DER, then its owner, request and the admission show', async () => {
    await f.addUser('dg001');
    const cert = await issueFor(f, { userId: 'dg001', requestId: '202611250000401', notBefore: at(-10), notAfter: at(1000) });
    await f.addRequest({ userId: 'dg001', requestId: '202611250000401', snapshot: { state: 'active', serial: cert.serial, notAfter: iso(1000), guideExpiresAt: iso(20) } });
    const fromPem = await diagnoseCertificate(f.deps, `pasted:\n${cert.certificatePem}\n`);
    expect(fromPem).toEqual({
      serial: cert.serial,
      subject: expect.stringContaining('CN=dg001'),
      issuer: expect.any(String),
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      issuedBy: { profile: 'kdanshinnet' },
      owner: { userId: 'dg001', profile: 'kdanshinnet', requestId: '202611250000401', kind: 'new', status: 'active', workflowId: 'certificate-kdanshinnet-202611250000401' },
      verdict: { admitted: true, reason: expect.stringMatching(/^admitted/) },
    });
    const der = Buffer.from(new crypto.X509Certificate(cert.certificatePem).raw);
    expect(await diagnoseCertificate(f.deps, der)).toEqual(fromPem);
  });

  test('when the certificate is revoked, expired or not yet valid, then the refusal says so with its reason and date', async () => {
    await f.addUser('dg002');
    const revoked = await issueFor(f, { userId: 'dg002', requestId: '202611250000402', notBefore: at(-10), notAfter: at(1000) });
    await f.deps.ca.revoke({ serial: revoked.serial, reason: 'keyCompromise', revokedAt: at(-1) });
    await f.addRequest({ userId: 'dg002', requestId: '202611250000402', snapshot: { state: 'revoked', serial: revoked.serial, revocationReason: 'keyCompromise', guideExpiresAt: iso(20) } });
    expect((await diagnoseCertificate(f.deps, revoked.certificatePem)).verdict).toEqual({
      admitted: false, refusal: 'revoked', reason: `revoked (keyCompromise, ${iso(-1)})`, revokedAt: at(-1), revocationReason: 'keyCompromise',
    });

    const expired = await issueFor(f, { userId: 'dg002', requestId: '202611250000403', notBefore: at(-1000), notAfter: at(-1) });
    expect((await diagnoseCertificate(f.deps, expired.certificatePem)).verdict).toEqual({ admitted: false, refusal: 'expired', reason: `expired on ${iso(-1)}` });
    const early = await issueFor(f, { userId: 'dg002', requestId: '202611250000404', notBefore: at(2), notAfter: at(1000) });
    expect((await diagnoseCertificate(f.deps, early.certificatePem)).verdict).toEqual({ admitted: false, refusal: 'notYetValid', reason: `not valid before ${iso(2)}` });
  });

  test('when a reissue or a renewal followed, then the reissued one is refused as superseded and the renewed one admitted, each naming its successor', async () => {
    await f.addUser('dg003');
    const old = await issueFor(f, { userId: 'dg003', requestId: '202611250000501', notBefore: at(-10), notAfter: at(1000) });
    await f.deps.ca.revoke({ serial: old.serial, reason: 'superseded', revokedAt: at(-1) });
    await f.addRequest({ userId: 'dg003', requestId: '202611250000501', snapshot: { state: 'revoked', serial: old.serial, revocationReason: 'superseded', guideExpiresAt: iso(20), successorRequestId: '202611250000502' } });
    await f.addRequest({ userId: 'dg003', requestId: '202611250000502', kind: 'reissue', predecessorRequestId: '202611250000501', snapshot: { state: 'awaitingKeyRetrieval', guideExpiresAt: iso(29) } });
    expect((await diagnoseCertificate(f.deps, old.certificatePem)).verdict).toEqual({
      admitted: false, refusal: 'superseded', reason: `superseded by the reissue request 202611250000502: revoked (superseded, ${iso(-1)})`,
      revokedAt: at(-1), revocationReason: 'superseded', supersededBy: { requestId: '202611250000502', kind: 'reissue', status: 'awaitingKeyRetrieval' },
    });

    await f.addUser('dg004');
    const renewed = await issueFor(f, { userId: 'dg004', requestId: '202611250000601', notBefore: at(-1000), notAfter: at(10) });
    await f.addRequest({ userId: 'dg004', requestId: '202611250000601', snapshot: { state: 'renewed', serial: renewed.serial, guideExpiresAt: iso(20), successorRequestId: '202611250000602' } });
    await f.addRequest({ userId: 'dg004', requestId: '202611250000602', kind: 'renewal', predecessorRequestId: '202611250000601', snapshot: { state: 'active', guideExpiresAt: iso(29) } });
    expect((await diagnoseCertificate(f.deps, renewed.certificatePem)).verdict).toEqual({
      admitted: true, reason: `admitted until ${iso(10)}, though superseded by the renewal request 202611250000602 (active)`,
      supersededBy: { requestId: '202611250000602', kind: 'renewal', status: 'active' },
    });
  });

  test('when the certificate comes from another CA, then it is not issued by certflow and has no owner', async () => {
    const diagnosis = await diagnoseCertificate(f.deps, await foreignCertificatePem());
    expect(diagnosis).toEqual({
      serial: '0a0b', subject: 'CN=Another CA, O=Elsewhere, C=JP', issuer: 'CN=Another CA, O=Elsewhere, C=JP',
      notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2030-01-01T00:00:00Z'), issuedBy: 'notIssuedByCertflow',
      verdict: { admitted: false, refusal: 'notIssuedByCertflow', reason: expect.stringContaining('not issued by certflow') },
    });
  });

  test.each([
    ['text that is no certificate', 'hello'],
    ['an empty input', ''],
    ['random bytes', crypto.randomBytes(300)],
    ['a PEM private key', crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string],
    ['a broken PEM certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'],
    ['too much input', Buffer.alloc(70_000, 0x41)],
  ])('when given %s, then a refusal naming the certificate field, never an exception', async (_what, input) => {
    await expect(diagnoseCertificate(f.deps, input)).rejects.toMatchObject({ name: 'Refusal', code: 'invalid', detail: { field: 'certificate' } });
  });
});
