// Behaviour of the PKI engine around the signing: idempotency, validation, key custody, revocation, CRL refresh, CA set-up.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CaUnavailableError,
  createCertificateAuthority,
  buildProfiles,
  PkiError,
  Pkcs12PasswordError,
  SubjectValidationError,
  validatePkcs12Password,
  type CertificateAuthority,
} from '../../engines/pki';
import { CA_PASSPHRASE, createPkiFixture, NOW, run, subjectOf, THREE_YEARS_LATER, write, type PkiFixture } from './support';
import { expectUniqueViolation } from '../support/databases';

const PASSWORD = 'Osaka-2026!pass';
let fixture: PkiFixture;
let ca: CertificateAuthority;
let sequence = 0;

function nextRequestId(): string {
  sequence += 1;
  return `20261125${String(sequence).padStart(7, '0')}`;
}

function issueFor(userId: string, overrides: Record<string, unknown> = {}) {
  return ca.issue({ requestId: nextRequestId(), ...subjectOf(userId), notBefore: NOW, notAfter: THREE_YEARS_LATER, ...overrides });
}

beforeAll(async () => {
  fixture = await createPkiFixture('engine');
  ca = fixture.authority();
  await ca.ensureCas(NOW);
});

afterAll(async () => {
  await fixture.close();
});

describe('idempotent issuance', () => {
  test('when the same request is issued twice, then the second call returns the stored certificate and signs nothing', async () => {
    const requestId = nextRequestId();
    const request = { requestId, ...subjectOf('emp101'), notBefore: NOW, notAfter: THREE_YEARS_LATER };
    const first = await ca.issue(request);
    const second = await ca.issue(request);
    expect(first.alreadyIssued).toBe(false);
    expect(second).toEqual({ ...first, alreadyIssued: true });
    expect(await fixture.db('issued_certificates').where({ request_id: requestId }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  test('when the same request is issued concurrently, then one certificate is stored and both callers get it', async () => {
    const requestId = nextRequestId();
    const request = { requestId, ...subjectOf('emp102'), notBefore: NOW, notAfter: THREE_YEARS_LATER };
    const results = await Promise.all([ca.issue(request), ca.issue(request), ca.issue(request)]);
    expect(new Set(results.map((r) => r.serial)).size).toBe(1);
    expect(results.filter((r) => !r.alreadyIssued)).toHaveLength(1);
    expect(await fixture.db('issued_certificates').where({ request_id: requestId }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  test('when a request is issued again under a new issuance key (after a lapsed download), then it gets a new certificate', async () => {
    const requestId = nextRequestId();
    const base = { requestId, ...subjectOf('emp103'), notBefore: NOW, notAfter: THREE_YEARS_LATER };
    const first = await ca.issue(base);
    const second = await ca.issue({ ...base, issuanceKey: `${requestId}.2` });
    expect(second.serial).not.toBe(first.serial);
    expect(second.alreadyIssued).toBe(false);
  });

  test('when the database already holds the issuance key, then the unique constraint refuses a second row', async () => {
    const issued = await issueFor('emp104');
    const row = await fixture.db('issued_certificates').where({ serial: issued.serial }).first();
    await expectUniqueViolation(fixture.db('issued_certificates').insert({ ...row, serial: 'ab'.repeat(16) }));
  });
});

describe('subject validation', () => {
  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['userId', { userId: '' }, 'is empty'],
    ['userId', { userId: 'x'.repeat(65) }, 'longer than 64'],
    ['userId', { userId: 'emp\u0000002' }, 'control characters'],
    ['organizationalUnits[1]', { organizationalUnits: ['div1-1', '', 'div1'] }, 'is empty'],
    ['organizationalUnits[0]', { organizationalUnits: ['div\n1'] }, 'control characters'],
    ['organization', { organization: 'sample\u202eCompany' }, 'control characters'],
    ['organization', { organization: ' sampleCompany' }, 'leading or trailing spaces'],
    ['country', { country: 'JPN' }, 'two capital letters'],
    ['country', { country: 'jp' }, 'two capital letters'],
    ['email', { email: 'not-an-address' }, 'e-mail'],
    ['email', { email: '担当@example.jp' }, 'e-mail'],
    ['subscriberId', { subscriberId: '' }, 'is empty'],
  ];

  test.each(bad)('when %s is invalid (%j), then a SubjectValidationError names it and nothing is signed', async (field, change, reason) => {
    const before = await fixture.db('issued_certificates').count({ n: '*' });
    const error = await issueFor('emp201', change).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubjectValidationError);
    expect((error as SubjectValidationError).field).toBe(field);
    expect((error as SubjectValidationError).message).toContain(reason);
    expect((error as SubjectValidationError).status).toBe(422);
    expect(await fixture.db('issued_certificates').count({ n: '*' })).toEqual(before);
  });

  test('when the organisation and OUs are Japanese, then they are encoded as UTF8String and read back unchanged', async () => {
    const issued = await issueFor('emp202', { organization: '第一生命保険株式会社', organizationalUnits: ['営業第一課', '営業部'] });
    const certificate = new crypto.X509Certificate(issued.certificatePem);
    expect(certificate.subject).toBe('C=JP\nO=第一生命保険株式会社\nOU=営業部\nOU=営業第一課\nCN=emp202');
  });

  test('when notBefore is not before notAfter, then the issuance is refused', async () => {
    await expect(issueFor('emp203', { notAfter: NOW })).rejects.toMatchObject({ code: 'issuanceInvalid', status: 400 });
  });
});

describe('PKCS#12 password and key custody', () => {
  test('when the password breaks the policy, then validatePkcs12Password says why', () => {
    const problem = (password: string) => {
      try {
        validatePkcs12Password(password, { userId: 'emp301xyz' });
        return undefined;
      } catch (e) {
        return (e as Pkcs12PasswordError).problem;
      }
    };
    expect(problem('short7!')).toBe('tooShort');
    expect(problem('EMP301XYZ')).toBe('equalsUserId');
    expect(problem('パスワード12345678')).toBe('notPrintableAscii');
    expect(problem('x'.repeat(129))).toBe('tooLong');
    expect(problem('Good-pass-1')).toBeUndefined();
  });

  test('when buildPkcs12 gets a password equal to the user ID, then it refuses before touching the key', async () => {
    const issued = await issueFor('emp302pass');
    const requestId = (await fixture.db('issued_certificates').where({ serial: issued.serial }).first()).issuance_key;
    await expect(ca.buildPkcs12(requestId, 'emp302pass', { userId: 'emp302pass' })).rejects.toBeInstanceOf(Pkcs12PasswordError);
  });

  test('when another user asks for the PKCS#12, then it is refused', async () => {
    const requestId = nextRequestId();
    await ca.issue({ requestId, ...subjectOf('emp303'), notBefore: NOW, notAfter: THREE_YEARS_LATER });
    await expect(ca.buildPkcs12(requestId, PASSWORD, { userId: 'emp999' })).rejects.toMatchObject({ code: 'userMismatch', status: 403 });
  });

  test('when the key is destroyed, then the same request can no longer produce a PKCS#12', async () => {
    const requestId = nextRequestId();
    await ca.issue({ requestId, ...subjectOf('emp304'), notBefore: NOW, notAfter: THREE_YEARS_LATER });
    expect((await ca.buildPkcs12(requestId, PASSWORD, { userId: 'emp304' })).length).toBeGreaterThan(1000);
    await ca.destroyKey(requestId);
    await ca.destroyKey(requestId); // harmless twice
    const error = await ca.buildPkcs12(requestId, PASSWORD, { userId: 'emp304' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PkiError);
    expect(error).toMatchObject({ code: 'keyDestroyed', status: 410 });
    const row = await fixture.db('issued_certificates').where({ request_id: requestId }).first();
    expect(row.encrypted_private_key).toBeNull();
    expect(row.private_key_nonce).toBeNull();
  });

  test('when the key is at rest, then neither the database file nor the row holds it in clear, and the wrong data key cannot open it', async () => {
    const requestId = nextRequestId();
    await ca.issue({ requestId, ...subjectOf('emp305'), notBefore: NOW, notAfter: THREE_YEARS_LATER });
    const p12File = write(fixture.dir, 'emp305.p12', await ca.buildPkcs12(requestId, PASSWORD, { userId: 'emp305' }));
    const extracted = await run('openssl', ['pkcs12', '-in', p12File, '-passin', `pass:${PASSWORD}`, '-nocerts', '-nodes']);
    const pkcs8 = crypto.createPrivateKey(extracted.stdout.slice(extracted.stdout.indexOf('-----BEGIN'))).export({ format: 'der', type: 'pkcs8' });
    const row = await fixture.db('issued_certificates').where({ request_id: requestId }).first();
    expect(Buffer.from(row.encrypted_private_key).includes(pkcs8.subarray(40, 80))).toBe(false);
    await fixture.db.raw('PRAGMA wal_checkpoint(FULL)');
    const file = fs.readFileSync(path.join(fixture.dir, 'certflow.sqlite'));
    expect(file.includes(pkcs8.subarray(40, 80))).toBe(false);
    // The CA keys are in this file too, but only as ENCRYPTED PRIVATE KEY: no PEM of a key in clear.
    for (const pem of ['-----BEGIN PRIVATE KEY', '-----BEGIN RSA PRIVATE KEY', '-----BEGIN EC PRIVATE KEY']) expect(file.includes(Buffer.from(pem))).toBe(false);
    expect(file.includes(Buffer.from('-----BEGIN ENCRYPTED PRIVATE KEY'))).toBe(true);
    expect(file.includes(Buffer.from(PASSWORD))).toBe(false);

    const otherKey = createCertificateAuthority({
      store: fixture.store,
      caDir: fixture.caDir,
      caPassphrase: CA_PASSPHRASE,
      dataKey: crypto.randomBytes(32),
      profiles: buildProfiles({ publicUrl: 'https://certflow.example.jp' }),
    });
    await expect(otherKey.buildPkcs12(requestId, PASSWORD, { userId: 'emp305' })).rejects.toThrow(/authenticate/);
  });
});

describe('revocation, status and CRL', () => {
  test('when a certificate is revoked twice, then the first date and reason stay, the key is gone and the CRL is not re-signed again', async () => {
    const requestId = nextRequestId();
    const issued = await ca.issue({ requestId, ...subjectOf('emp401'), notBefore: NOW, notAfter: THREE_YEARS_LATER });
    expect(await ca.status(issued.serial)).toMatchObject({ status: 'good', userId: 'emp401', requestId, notAfter: THREE_YEARS_LATER });

    const revokedAt = new Date(NOW.getTime() + 60_000);
    expect(await ca.revoke({ serial: issued.serial, reason: 'superseded', revokedAt })).toEqual({ revokedAt, reason: 'superseded' });
    const crlAfterFirst = await fixture.db('certificate_revocation_lists').where({ profile: 'kdanshinnet' }).first();
    const again = await ca.revoke({ serial: issued.serial, reason: 'keyCompromise', revokedAt: new Date(NOW.getTime() + 120_000) });
    expect(again).toEqual({ revokedAt, reason: 'superseded' });
    const crlAfterSecond = await fixture.db('certificate_revocation_lists').where({ profile: 'kdanshinnet' }).first();
    expect(Number(crlAfterSecond.crl_number)).toBe(Number(crlAfterFirst.crl_number));

    expect(await ca.status(issued.serial)).toMatchObject({ status: 'revoked', revokedAt, revocationReason: 'superseded' });
    await expect(ca.buildPkcs12(requestId, PASSWORD, { userId: 'emp401' })).rejects.toMatchObject({ code: 'certificateRevoked' });
  });

  test('when the serial is unknown, then status says unknown and revoke is a 404', async () => {
    expect(await ca.status('0123456789abcdef')).toEqual({ status: 'unknown', serial: '0123456789abcdef' });
    expect(await ca.status('not hex')).toEqual({ status: 'unknown', serial: 'not hex' });
    await expect(ca.revoke({ serial: '0123456789abcdef', reason: 'unspecified', revokedAt: NOW })).rejects.toMatchObject({ status: 404 });
  });

  test('when the CRL is asked for before half its validity has passed, then it is the same; after, it is re-signed with the next number', async () => {
    const profile = 'nissay' as const;
    const current = await fixture.db('certificate_revocation_lists').where({ profile }).first();
    const thisUpdate = new Date(Number(current.this_update));
    const early = await ca.crl(profile, new Date(thisUpdate.getTime() + 3 * 86_400_000));
    expect(early.equals(Buffer.from(current.crl_der))).toBe(true);

    const later = new Date(thisUpdate.getTime() + 4 * 86_400_000);
    const refreshed = await ca.crl(profile, later);
    const parsed = new (await import('@peculiar/x509')).X509Crl(refreshed);
    expect(parsed.thisUpdate).toEqual(later);
    expect(parsed.nextUpdate).toEqual(new Date(later.getTime() + 7 * 86_400_000));
    const row = await fixture.db('certificate_revocation_lists').where({ profile }).first();
    expect(Number(row.crl_number)).toBe(Number(current.crl_number) + 1);
    const caFile = write(fixture.dir, 'nissay-ca.pem', await ca.caCertificatePem(profile));
    const crlFile = write(fixture.dir, 'nissay.crl', refreshed);
    const verified = await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-verify', '-CAfile', caFile, '-crlnumber']);
    expect(verified.stderr.trim()).toBe('verify OK');
    expect(verified.stdout.trim()).toBe(`crlNumber=0x${Number(row.crl_number).toString(16).toUpperCase().padStart(2, '0')}`);
  });
});

describe('CA set-up', () => {
  test('when ensureCas runs again, then the existing CA is kept', async () => {
    const before = await ca.caCertificatePem('kdanshinnet');
    expect(await fixture.authority().ensureCas(new Date(NOW.getTime() + 86_400_000))).toEqual({ created: [], imported: [] });
    expect(await fixture.authority().caCertificatePem('kdanshinnet')).toBe(before);
  });

  test('when the passphrase is wrong, then start-up gets a CaUnavailableError that says so', async () => {
    const wrong = createCertificateAuthority({
      store: fixture.store,
      caDir: fixture.caDir,
      caPassphrase: 'not the passphrase at all',
      dataKey: fixture.dataKey,
      profiles: buildProfiles({ publicUrl: 'https://certflow.example.jp' }),
    });
    const error = await wrong.ensureCas(NOW).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CaUnavailableError);
    expect((error as Error).message).toMatch(/cannot be decrypted; CERTFLOW_CA_PASSPHRASE is wrong/);
  });

  test('when the passphrase is missing, then the factory refuses at once', () => {
    expect(() =>
      createCertificateAuthority({ store: fixture.store, caDir: fixture.caDir, caPassphrase: '', dataKey: fixture.dataKey, profiles: buildProfiles({ publicUrl: 'http://x' }) }),
    ).toThrow(/CERTFLOW_CA_PASSPHRASE is not set/);
  });

  test('when only half of an earlier version\'s CA is on disk and the database has none, then nothing is made or imported and the error says what is missing', async () => {
    const caDir = path.join(fixture.dir, 'half-ca');
    const store = await fixture.emptyStore();
    const fresh = createCertificateAuthority({ store, caDir, caPassphrase: CA_PASSPHRASE, dataKey: fixture.dataKey, profiles: buildProfiles({ publicUrl: 'http://x' }) });
    fs.mkdirSync(path.join(caDir, 'kdanshinnet'), { recursive: true });
    fs.writeFileSync(path.join(caDir, 'kdanshinnet', 'ca-key.pem'), (await fixture.store.findCa('kdanshinnet'))!.encryptedKeyPem);
    await expect(fresh.ensureCas(NOW)).rejects.toThrow(/ca-cert\.pem is missing .* restore it from backup/);
    expect(await store.findCa('kdanshinnet')).toBeUndefined();
  });

  test('when the database has no CA and nobody ran ensureCas, then using the CA points to ca:init', async () => {
    const absent = createCertificateAuthority({ store: await fixture.emptyStore(), caDir: path.join(fixture.dir, 'none'), caPassphrase: CA_PASSPHRASE, dataKey: fixture.dataKey, profiles: buildProfiles({ publicUrl: 'http://x' }) });
    await expect(absent.caCertificatePem('nissay')).rejects.toThrow(/not set up in the database: run `npm run ca:init`/);
  });
});
