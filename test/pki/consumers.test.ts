// The files certflow signs, opened by their real consumers: openssl (verify, crl, pkcs12) and NSS (pk12util, certutil).
import fs from 'node:fs';
import path from 'node:path';
import { KEY_ALGORITHMS, type Pkcs12Encryption } from '../../engines/pki';
import { PROFILES, type Profile } from '../../workflows/definitions';
import { CA_PASSPHRASE, createPkiFixture, NOW, run, subjectOf, THREE_YEARS_LATER, write, type PkiFixture } from './support';

const PASSWORD = 'Tokyo-2026!pass';
const ISSUER_CN: Record<Profile, string> = {
  kdanshinnet: 'Nissay Information Technology KDanshinnet CA',
  nissay: 'Nissay Information Technology Danshinnet Nissay CA',
  operators: 'Nissay Information Technology certflow Operators CA',
};

const SERVICE_NAME: Record<Profile, string> = { kdanshinnet: '団信ネット（3社共用）', nissay: '団信ネット（日本生命）', operators: 'certflow 運用コンソール' };

let fixture: PkiFixture;

beforeAll(async () => {
  fixture = await createPkiFixture('consumers');
  await fixture.authority().ensureCas(NOW);
});

afterAll(async () => {
  await fixture.close();
});

const cases = PROFILES.flatMap((profile) => KEY_ALGORITHMS.map((keyAlgorithm) => ({ profile, keyAlgorithm })));

describe.each(cases)('a $keyAlgorithm certificate of profile $profile', ({ profile, keyAlgorithm }) => {
  let dir: string;
  let requestId: string;
  let serial: string;
  let certificateFile: string;
  let caFile: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(fixture.dir, `${profile}-${keyAlgorithm}-`));
    requestId = `20261125${PROFILES.indexOf(profile)}0${KEY_ALGORITHMS.indexOf(keyAlgorithm)}0001`;
    const ca = fixture.authority({ keyAlgorithm });
    const issued = await ca.issue({ requestId, ...subjectOf('emp002', profile), notBefore: NOW, notAfter: THREE_YEARS_LATER });
    serial = issued.serial;
    certificateFile = write(dir, 'user.pem', issued.certificatePem);
    caFile = write(dir, 'ca.pem', await ca.caCertificatePem(profile));
  });

  test('when openssl verifies it against its CA, then it is accepted for client authentication', async () => {
    const result = await run('openssl', ['verify', '-CAfile', caFile, '-purpose', 'sslclient', '-attime', String(NOW.getTime() / 1000 + 60), certificateFile]);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(`${certificateFile}: OK`);
  });

  test('when openssl prints it, then subject, validity and every required extension are there', async () => {
    const { stdout } = await run('openssl', ['x509', '-in', certificateFile, '-noout', '-text', '-nameopt', 'RFC2253']);
    expect(stdout).toContain('Version: 3 (0x2)');
    expect(stdout).toContain('Subject: CN=emp002,OU=div1-1-1,OU=div1-1,OU=div1,O=sampleCompany,C=JP');
    expect(stdout).toContain(`Issuer: CN=${ISSUER_CN[profile]},`);
    expect(stdout).toContain('Not Before: Nov 25 01:00:00 2026 GMT');
    expect(stdout).toContain('Not After : Nov 25 01:00:00 2029 GMT');
    expect(stdout).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(stdout).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    const keyUsage = keyAlgorithm === 'ecdsa-p256' ? 'Digital Signature\n' : 'Digital Signature, Key Encipherment\n';
    expect(stdout).toMatch(new RegExp(`Key Usage: critical\\s+${keyUsage}`));
    expect(stdout).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n/);
    expect(stdout).toContain('X509v3 Subject Key Identifier');
    expect(stdout).toContain('X509v3 Authority Key Identifier');
    expect(stdout).toMatch(/Subject Alternative Name:\s+email:email\.emp002@sampleCompany\.com\n/);
    expect(stdout).toContain(`URI:https://certflow.example.jp/crl/${profile}.crl`);
    expect(stdout).toMatch(new RegExp(`Authority Information Access:\\s+OCSP - URI:https://certflow.example.jp/ocsp/${profile}\n`));
    const publicKey = { 'rsa-2048': 'Public-Key: (2048 bit)', 'rsa-3072': 'Public-Key: (3072 bit)', 'ecdsa-p256': 'NIST CURVE: P-256' }[keyAlgorithm];
    expect(stdout).toContain(publicKey);
    const serialLine = await run('openssl', ['x509', '-in', certificateFile, '-noout', '-serial']);
    expect(serialLine.stdout.trim()).toBe(`serial=${serial.toUpperCase()}`);
    expect(serial).toMatch(/^[4-7][0-9a-f]{31}$/); // 16 bytes, positive
  });

  describe.each<Pkcs12Encryption>(['modern', 'legacy'])('packed as a %s PKCS#12', (encryption) => {
    let p12File: string;

    beforeAll(async () => {
      const pkcs12 = await fixture.authority({ keyAlgorithm, pkcs12Encryption: encryption }).buildPkcs12(requestId, PASSWORD, { userId: 'emp002' });
      p12File = write(dir, `user-${encryption}.p12`, pkcs12);
    });

    test('when openssl opens it with the password, then it holds the key, the certificate and the CA with the expected algorithms', async () => {
      const info = await run('openssl', ['pkcs12', '-info', '-in', p12File, '-passin', `pass:${PASSWORD}`, '-nodes']);
      expect(info.code).toBe(0);
      if (encryption === 'modern') {
        expect(info.stderr).toContain('MAC: sha256, Iteration 2048');
        expect(info.stderr).toContain('Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256');
      } else {
        expect(info.stderr).toContain('MAC: sha1, Iteration 2048');
        expect(info.stderr).toContain('Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048');
      }
      expect(info.stdout.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
      expect(info.stdout).toContain('-----BEGIN PRIVATE KEY-----');
      expect(info.stdout).toContain('localKeyID:');
      // The key in the file belongs to the certificate.
      const keyFile = write(dir, `key-${encryption}.pem`, info.stdout.slice(info.stdout.indexOf('-----BEGIN PRIVATE KEY-----')));
      const fromKey = await run('openssl', ['pkey', '-in', keyFile, '-pubout']);
      const fromCertificate = await run('openssl', ['x509', '-in', certificateFile, '-noout', '-pubkey']);
      expect(fromKey.stdout).toBe(fromCertificate.stdout);
    });

    test('when openssl is given a wrong password, then it refuses the file', async () => {
      const info = await run('openssl', ['pkcs12', '-info', '-noout', '-in', p12File, '-passin', 'pass:Wrong-password-1']);
      expect(info.code).not.toBe(0);
      expect(info.stderr).toContain('Mac verify error: invalid password?');
    });

    test('when NSS pk12util imports it into a fresh database, then certutil lists the user certificate with its subject and issuer', async () => {
      const nssDir = fs.mkdtempSync(path.join(dir, `nss-${encryption}-`));
      expect((await run('certutil', ['-N', '-d', `sql:${nssDir}`, '--empty-password'])).code).toBe(0);
      const wrong = await run('pk12util', ['-i', p12File, '-d', `sql:${nssDir}`, '-W', 'Wrong-password-1']);
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr + wrong.stdout).toContain('SEC_ERROR_PKCS12_INVALID_MAC');
      const imported = await run('pk12util', ['-i', p12File, '-d', `sql:${nssDir}`, '-W', PASSWORD]);
      expect(imported.stdout + imported.stderr).toContain('PKCS12 IMPORT SUCCESSFUL');
      const nickname = `emp002 (${SERVICE_NAME[profile]})`;
      const list = await run('certutil', ['-L', '-d', `sql:${nssDir}`]);
      expect(list.stdout).toMatch(new RegExp(`${nickname.replace(/[()（）]/g, '\\$&')}\\s+u,u,u`));
      // certutil folds long lines; unfold them before matching.
      const detail = (await run('certutil', ['-L', '-d', `sql:${nssDir}`, '-n', nickname])).stdout.replace(/\n\s+(?=\S)(?![A-Z][A-Za-z ]+:)/g, '');
      expect(detail).toContain('Subject: "CN=emp002,OU=div1-1-1,OU=div1-1,OU=div1,O=sampleCompany,C=JP"');
      expect(detail).toContain(`Issuer: "CN=${ISSUER_CN[profile]},O="Nissay Information Technology Co., Ltd.",C=JP"`);
      const keys = await run('certutil', ['-K', '-d', `sql:${nssDir}`]);
      expect(keys.stdout).toContain(nickname);
    });
  });

  test('when it is revoked, then the re-signed CRL verifies and openssl rejects the certificate with -crl_check', async () => {
    const ca = fixture.authority({ keyAlgorithm });
    const crlBefore = await pemCrl(write(dir, 'before.crl', await ca.crl(profile, NOW)));
    const accepted = await run('openssl', ['verify', '-crl_check', '-CAfile', caFile, '-CRLfile', crlBefore, certificateFile]);
    expect(accepted.stdout.trim()).toBe(`${certificateFile}: OK`);

    const revokedAt = new Date(NOW.getTime() + 3600_000);
    await ca.revoke({ serial, reason: 'keyCompromise', revokedAt });
    const crlFile = write(dir, 'after.crl', await ca.crl(profile, revokedAt));

    const crlCheck = await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-verify', '-CAfile', caFile]);
    expect(crlCheck.stderr.trim()).toBe('verify OK');
    const text = await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text']);
    expect(text.stdout).toContain(`Serial Number: ${serial.toUpperCase()}`);
    expect(text.stdout).toMatch(/CRL Reason Code:\s+Key Compromise/);
    expect(text.stdout).toMatch(/X509v3 CRL Number:\s+\d+/);
    expect(text.stdout).toContain('Next Update:');

    const rejected = await run('openssl', ['verify', '-crl_check', '-CAfile', caFile, '-CRLfile', await pemCrl(crlFile), certificateFile]);
    expect(rejected.code).not.toBe(0);
    expect(rejected.stderr + rejected.stdout).toContain('certificate revoked');
  });
});

test('when both profiles are set up, then they are two different CAs in the database, each key encrypted with the passphrase and nowhere in clear', async () => {
  const ca = fixture.authority();
  expect(await ca.caCertificatePem('kdanshinnet')).not.toBe(await ca.caCertificatePem('nissay'));
  expect(fs.existsSync(fixture.caDir)).toBe(false); // no files: every process reads the CA from the database
  await fixture.db.raw('PRAGMA wal_checkpoint(FULL)');
  const file = fs.readFileSync(path.join(fixture.dir, 'certflow.sqlite'));
  for (const profile of PROFILES) {
    const stored = (await fixture.store.findCa(profile))!;
    expect(stored.certificatePem).toBe(await ca.caCertificatePem(profile));
    expect(stored.encryptedKeyPem).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
    // openssl, not certflow, opens it with the passphrase; its clear PKCS#8 is not in the database file.
    const keyFile = write(fixture.dir, `${profile}-ca-key.pem`, stored.encryptedKeyPem);
    const clear = await run('openssl', ['pkey', '-in', keyFile, '-passin', `pass:${CA_PASSPHRASE}`, '-outform', 'DER', '-out', `${keyFile}.der`]);
    expect(clear.code).toBe(0);
    const pkcs8 = fs.readFileSync(`${keyFile}.der`);
    expect(file.includes(pkcs8.subarray(-80, -40))).toBe(false); // the tail: CRT values, secret (the modulus is public)
    expect((await run('openssl', ['pkey', '-in', keyFile, '-passin', 'pass:not the passphrase', '-noout'])).code).not.toBe(0);
  }
});

/** `openssl verify -CRLfile` reads PEM; the CRL is served as DER. */
async function pemCrl(derFile: string): Promise<string> {
  const pemFile = `${derFile}.pem`;
  const converted = await run('openssl', ['crl', '-inform', 'DER', '-in', derFile, '-out', pemFile]);
  expect(converted.code).toBe(0);
  return pemFile;
}
