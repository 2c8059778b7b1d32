// CA keys behind PKCS#11 on a SoftHSM2 token the test makes itself: `ca:init` generates each CA key inside the token
// (sensitive, not extractable), certificates, CRLs and OCSP responses signed with it verify with openssl, a wrong
// PIN or a missing token stops start-up with a message naming it, and `ca:rollover` makes the next generation's key there.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as graphene from 'graphene-pk11';
import { buildProfiles, createCertificateAuthority, createPkiStore, type CertificateAuthority } from '../../engines/pki';
import { SOFTHSM2_MODULE } from '../../engines/pki/pkcs11';
import { createDb, type Db } from '../../infra/db';
import { loadConfig, type Config } from '../../worker/config';
import { withDevSecrets } from '../../worker/dev-secrets';
import { PROFILES } from '../../workflows/definitions';
import { createSoftHsmToken } from '../support/softhsm';
import { run, subjectOf, write, type RunResult } from './support';

const execFileAsync = promisify(execFile);
// Its own label in the run's SoftHSM2 (jest's globalSetup points SOFTHSM2_CONF at a temporary folder).
const TOKEN = `certflow-test-${process.pid}`;
const PIN = '246810';
const root = path.resolve(__dirname, '../..');

let dir: string;
let dataDir: string;
let pinFile: string;
let db: Db | undefined;

/** The environment `npm run ca:init` / `npm start` would run with, its CA keys in the test's token. */
function hsmEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SOFTHSM2_CONF: process.env.SOFTHSM2_CONF,
    CERTFLOW_DATA_DIR: dataDir,
    CERTFLOW_CA_KEY_STORE: 'pkcs11',
    CERTFLOW_PKCS11_TOKEN_LABEL: TOKEN,
    CERTFLOW_PKCS11_PIN_FILE: pinFile,
    ...overrides,
  };
}

async function script(env: NodeJS.ProcessEnv, ...args: string[]): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(path.join(root, 'node_modules/.bin/tsx'), args, { cwd: root, env, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const caInit = (env: NodeJS.ProcessEnv) => script(env, 'scripts/ca-init.ts');

let tokenModule: graphene.Module | undefined;

/** A logged-in session on the test's token, to look at its objects as the engine left them. */
function tokenSession(): graphene.Session {
  if (!tokenModule) {
    tokenModule = graphene.Module.load(SOFTHSM2_MODULE, 'test');
    tokenModule.initialize();
  }
  const slots = tokenModule.getSlots(true);
  const slot = [...Array(slots.length).keys()].map((i) => slots.items(i)).find((s) => s.getToken().label.trim() === TOKEN)!;
  const session = slot.open(graphene.SessionFlag.SERIAL_SESSION);
  try {
    session.login(PIN);
  } catch (error) {
    // Logged in already in this process (the engine's own opening of the same token).
    if (!String(error).includes('CKR_USER_ALREADY_LOGGED_IN')) throw error;
  }
  return session;
}

/** The token's key is generated inside it and can never leave: sensitive, not extractable, never was. */
function expectKeptInToken(key: graphene.PrivateKey, certificatePem: string): void {
  expect(key.getAttribute({ sensitive: null, extractable: null, neverExtractable: null, local: null, token: null })).toEqual({
    sensitive: true,
    extractable: false,
    neverExtractable: true,
    // CKA_LOCAL: generated in the token, never imported.
    local: true,
    token: true,
  });
  // The private exponent cannot be read out of the token.
  expect(() => key.getAttribute({ privateExponent: null })).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
  // The certificate's public key is the token key's.
  const modulus = (key.getAttribute({ modulus: null }) as { modulus: Buffer }).modulus;
  const jwk = crypto.createPublicKey(certificatePem).export({ format: 'jwk' });
  expect(Buffer.from(jwk.n!, 'base64url').equals(modulus)).toBe(true);
}

function configOf(overrides: NodeJS.ProcessEnv = {}): Config {
  return loadConfig(withDevSecrets(hsmEnv(overrides), dataDir).env);
}

function authorityFrom(config: Config, keyAlgorithm?: 'ecdsa-p256'): CertificateAuthority {
  db ??= createDb(config.db);
  const overrides = keyAlgorithm ? { keyAlgorithm } : {};
  return createCertificateAuthority({
    store: createPkiStore(db),
    caDir: config.ca.dir,
    caPassphrase: config.ca.passphrase,
    caKeyStore: config.ca.keyStore,
    dataKey: config.dataKey,
    profiles: buildProfiles({ publicUrl: 'https://certflow.example.jp', overrides: { kdanshinnet: overrides, nissay: overrides, operators: overrides } }),
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-hsm-'));
  dataDir = path.join(dir, 'data');
  pinFile = write(dir, 'pin', `${PIN}\n`);
  createSoftHsmToken(TOKEN, PIN);
});

afterAll(async () => {
  await db?.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('when the token is missing or the PIN is wrong, then start-up (ca:init) stops with a message naming it', async () => {
  const [missing, wrongPin] = await Promise.all([
    caInit(hsmEnv({ CERTFLOW_PKCS11_TOKEN_LABEL: 'no-such-token' })),
    caInit(hsmEnv({ CERTFLOW_PKCS11_PIN_FILE: undefined, CERTFLOW_PKCS11_PIN: '000000' })),
  ]);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain(`PKCS#11 token "no-such-token" (module ${SOFTHSM2_MODULE}) is not present (tokens seen: "${TOKEN}" in slot`);
  expect(wrongPin.code).not.toBe(0);
  expect(wrongPin.stderr).toContain(`PKCS#11 token "${TOKEN}" (module ${SOFTHSM2_MODULE}): the PIN is wrong (CKR_PIN_INCORRECT`);
  // Neither left a CA behind: the next start-up with the right settings makes them in the token.
  expect(missing.stdout + wrongPin.stdout).not.toContain('created');
});

test('when ca:init runs against a token, then each CA key is generated inside it, sensitive and not extractable, and only its URI is in the database', async () => {
  const result = await caInit(hsmEnv());
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  for (const profile of PROFILES) expect(result.stdout).toContain(`[ca:init] ${profile}: created (key generated in the PKCS#11 token)`);

  const config = configOf();
  db = createDb(config.db);
  const rows: Array<{ profile: string; certificate_pem: string; encrypted_key_pem: string }> = await db('certificate_authorities').select();
  expect(rows.map((r) => r.profile).sort()).toEqual([...PROFILES].sort());

  const session = tokenSession();
  for (const row of rows) {
    expect(row.encrypted_key_pem).toMatch(/^pkcs11:object=certflow-ca-[a-z]+;id=(%[0-9a-f]{2})+;type=private$/);
    expect(row.encrypted_key_pem).not.toContain('PRIVATE KEY');
    const keys = session.find({ class: graphene.ObjectClass.PRIVATE_KEY, label: `certflow-ca-${row.profile}` });
    expect(keys.length).toBe(1);
    expectKeptInToken(keys.items(0).toType<graphene.PrivateKey>(), row.certificate_pem);
  }
  session.close();
});

test('when certificates are issued and revoked with the CA key in the token, then the certificates, the CRL and the OCSP response verify with openssl against the CA certificate', async () => {
  // The CAs were made by ca:init at the wall clock's time: everything here happens after that.
  const NOW = new Date();
  const ONE_YEAR_LATER = new Date(NOW.getTime() + 365 * 86_400_000);
  const config = configOf();
  const ca = authorityFrom(config);
  // Start-up with the CAs present: opens the token, no new key.
  expect(await ca.ensureCas(NOW)).toEqual({ created: [], imported: [] });
  const caFile = write(dir, 'ca.pem', await ca.caCertificatePem('kdanshinnet'));
  // An RSA leaf (node-forge encodes, the token signs) and an EC leaf (@peculiar/x509 encodes, the token signs).
  const rsa = await ca.issue({ requestId: '202611260000001', ...subjectOf('hsm-rsa'), notBefore: NOW, notAfter: ONE_YEAR_LATER });
  const ec = await authorityFrom(config, 'ecdsa-p256').issue({ requestId: '202611260000002', ...subjectOf('hsm-ec'), notBefore: NOW, notAfter: ONE_YEAR_LATER });
  const rsaFile = write(dir, 'rsa.pem', rsa.certificatePem);
  const ecFile = write(dir, 'ec.pem', ec.certificatePem);
  const verified = await run('openssl', ['verify', '-CAfile', caFile, rsaFile, ecFile]);
  expect(verified.stdout).toContain(`${rsaFile}: OK`);
  expect(verified.stdout).toContain(`${ecFile}: OK`);

  await ca.revoke({ serial: ec.serial, reason: 'keyCompromise', revokedAt: new Date(NOW.getTime() + 1_000) });
  const crlFile = write(dir, 'crl.der', await ca.crl('kdanshinnet', new Date(NOW.getTime() + 2_000)));
  const crl = await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', caFile, '-noout', '-text']);
  expect(crl.stderr).toContain('verify OK');
  expect(crl.stdout).toContain(`Serial Number: ${ec.serial.toUpperCase()}`);

  // The delegated OCSP signer is issued by the token key; its responses verify up to the CA certificate.
  const requestFile = path.join(dir, 'request.der');
  expect((await run('openssl', ['ocsp', '-issuer', caFile, '-cert', rsaFile, '-cert', ecFile, '-no_nonce', '-reqout', requestFile])).code).toBe(0);
  const responseFile = write(dir, 'response.der', await ca.ocspResponse('kdanshinnet', fs.readFileSync(requestFile), new Date(NOW.getTime() + 180_000)));
  const checked = await run('openssl', ['ocsp', '-respin', responseFile, '-issuer', caFile, '-cert', rsaFile, '-cert', ecFile, '-CAfile', caFile]);
  expect(checked.stderr).toContain('Response verify OK');
  expect(checked.stdout).toContain(`${rsaFile}: good`);
  expect(checked.stdout).toContain(`${ecFile}: revoked`);
  const signerFile = write(dir, 'signer.pem', await ca.ocspSignerPem('kdanshinnet', new Date(NOW.getTime() + 180_000)));
  expect((await run('openssl', ['verify', '-CAfile', caFile, '-purpose', 'ocsphelper', signerFile])).stdout).toContain(': OK');
});

test('when ca:rollover runs against the token, then the next generation key is made inside it under its own label, signs from then on, and the old generation still verifies', async () => {
  const config = configOf();
  const before = authorityFrom(config);
  const NOW = new Date();
  const ONE_YEAR_LATER = new Date(NOW.getTime() + 365 * 86_400_000);
  // A certificate of generation 1 (the token key ca:init made), still valid after the rollover.
  const old = await before.issue({ requestId: '202611260000003', ...subjectOf('hsm-old'), notBefore: NOW, notAfter: ONE_YEAR_LATER });

  const result = await script(hsmEnv(), 'scripts/ca-rollover.ts', 'kdanshinnet');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('[ca:rollover] kdanshinnet: generation 2 (key generated in the PKCS#11 token) now signs every new certificate');

  const row: { certificate_pem: string; encrypted_key_pem: string } = await db!('certificate_authorities').where({ profile: 'kdanshinnet', generation: 2 }).first();
  expect(row.encrypted_key_pem).toMatch(/^pkcs11:object=certflow-ca-kdanshinnet-g2;id=(%[0-9a-f]{2})+;type=private$/);
  const session = tokenSession();
  const keys = session.find({ class: graphene.ObjectClass.PRIVATE_KEY, label: 'certflow-ca-kdanshinnet-g2' });
  expect(keys.length).toBe(1);
  expectKeptInToken(keys.items(0).toType<graphene.PrivateKey>(), row.certificate_pem);
  // Generation 1's key is still there, under its own label.
  expect(session.find({ class: graphene.ObjectClass.PRIVATE_KEY, label: 'certflow-ca-kdanshinnet' }).length).toBe(1);
  session.close();

  // A process started after the rollover: the new generation (its key in the token) signs; both verify against the CA file.
  const ca = authorityFrom(config);
  const fresh = await ca.issue({ requestId: '202611260000004', ...subjectOf('hsm-new'), notBefore: NOW, notAfter: ONE_YEAR_LATER });
  const newCaFile = write(dir, 'ca-g2.pem', row.certificate_pem);
  const caFile = write(dir, 'ca-both.pem', await ca.caCertificatesPem('kdanshinnet', NOW));
  const oldFile = write(dir, 'old.pem', old.certificatePem);
  const freshFile = write(dir, 'fresh.pem', fresh.certificatePem);
  expect((await run('openssl', ['verify', '-CAfile', newCaFile, freshFile])).stdout).toContain(`${freshFile}: OK`);
  const verified = await run('openssl', ['verify', '-CAfile', caFile, oldFile, freshFile]);
  expect(verified.stdout).toContain(`${oldFile}: OK`);
  expect(verified.stdout).toContain(`${freshFile}: OK`);

  // Revoked on generation 2's CRL, signed by its token key.
  await ca.revoke({ serial: fresh.serial, reason: 'superseded', revokedAt: new Date(NOW.getTime() + 1_000) });
  const crlFile = write(dir, 'crl-g2.der', await ca.crl('kdanshinnet', new Date(NOW.getTime() + 2_000), 2));
  const crl = await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', newCaFile, '-noout', '-text']);
  expect(crl.stderr).toContain('verify OK');
  expect(crl.stdout).toContain(`Serial Number: ${fresh.serial.toUpperCase()}`);

  // OCSP for the new certificate: answered by generation 2's responder, which its token key issued.
  const requestFile = path.join(dir, 'request-g2.der');
  expect((await run('openssl', ['ocsp', '-issuer', newCaFile, '-cert', freshFile, '-no_nonce', '-reqout', requestFile])).code).toBe(0);
  const responseFile = write(dir, 'response-g2.der', await ca.ocspResponse('kdanshinnet', fs.readFileSync(requestFile), new Date(NOW.getTime() + 180_000)));
  const checked = await run('openssl', ['ocsp', '-respin', responseFile, '-issuer', newCaFile, '-cert', freshFile, '-CAfile', newCaFile]);
  expect(checked.stderr).toContain('Response verify OK');
  expect(checked.stdout).toContain(`${freshFile}: revoked`);
});
