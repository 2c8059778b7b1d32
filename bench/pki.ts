// `npm run bench:pki`: certificates per second for the whole pipeline (native keygen + signing + PKCS#12, through the
// engine and its SQLite store) against native key generation alone on all cores (the ceiling) and the openssl CLI.
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createDb, migrateToLatest } from '../infra/db';
import { buildProfiles, createCertificateAuthority, createPkiStore, KEY_ALGORITHMS, type KeyAlgorithm } from '../engines/pki';

const exec = promisify(execFile);
const generateKeyPair = promisify(crypto.generateKeyPair);
const SECONDS = Number(process.env.PKI_BENCH_SECONDS ?? 3);
const CORES = os.availableParallelism();
const CA_PASSPHRASE = crypto.randomBytes(18).toString('base64url');
const PKCS12_PASSWORD = 'Bench-password-1';
const NOW = new Date();
const NOT_AFTER = new Date(NOW.getTime() + 3 * 365 * 86_400_000);

/** Runs `job` with `concurrency` in flight until the time is up; returns completed jobs per second. */
async function throughput(concurrency: number, job: (i: number) => Promise<unknown>): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await job(next++);
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

function nativeKeyPair(algorithm: KeyAlgorithm) {
  return algorithm === 'ecdsa-p256'
    ? generateKeyPair('ec', { namedCurve: 'P-256' })
    : generateKeyPair('rsa', { modulusLength: algorithm === 'rsa-2048' ? 2048 : 3072 });
}

const OPENSSL_NEWKEY: Record<KeyAlgorithm, string[]> = {
  'rsa-2048': ['-newkey', 'rsa:2048'],
  'rsa-3072': ['-newkey', 'rsa:3072'],
  'ecdsa-p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
};

/** The same certificate and PKCS#12 made by the openssl CLI, one process per step and certificate. */
async function opensslOnce(dir: string, algorithm: KeyAlgorithm, i: number, ca: { certificate: string; key: string; extensions: string }) {
  const base = path.join(dir, `openssl-${algorithm}-${i}`);
  await exec('openssl', ['req', ...OPENSSL_NEWKEY[algorithm], '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`,
    '-subj', `/C=JP/O=sampleCompany/OU=div1/OU=div1-1/OU=div1-1-1/CN=bench${i}`]);
  await exec('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', ca.certificate, '-CAkey', ca.key, '-set_serial',
    `0x${crypto.randomBytes(16).toString('hex').replace(/^./, '4')}`, '-days', '1095', '-sha256', '-extfile', ca.extensions, '-out', `${base}.pem`]);
  await exec('openssl', ['pkcs12', '-export', '-inkey', `${base}.key`, '-in', `${base}.pem`, '-certfile', ca.certificate,
    '-name', `bench${i}`, '-passout', `pass:${PKCS12_PASSWORD}`, '-out', `${base}.p12`]);
  for (const ext of ['key', 'csr', 'pem', 'p12']) fs.rmSync(`${base}.${ext}`);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-bench-pki-'));
  const db = createDb({ client: 'sqlite', connection: path.join(dir, 'certflow.sqlite') });
  try {
    await migrateToLatest(db);
    const dataKey = crypto.randomBytes(32);
    const caDir = path.join(dir, 'ca');
    const store = createPkiStore(db);
    const authority = (keyAlgorithm: KeyAlgorithm) =>
      createCertificateAuthority({ store, caDir, caPassphrase: CA_PASSPHRASE, dataKey, profiles: buildProfiles({ publicUrl: 'https://certflow.example.jp', overrides: { kdanshinnet: { keyAlgorithm } } }) });
    await authority('rsa-2048').ensureCas(NOW);

    // openssl signs with the same CA key (decrypted into the temp folder) and the same extensions.
    const storedCa = (await store.findCa('kdanshinnet'))!;
    const opensslCa = {
      certificate: path.join(dir, 'ca-cert.pem'),
      key: path.join(dir, 'ca-plain.pem'),
      extensions: path.join(dir, 'leaf.ext'),
    };
    fs.writeFileSync(opensslCa.certificate, storedCa.certificatePem);
    fs.writeFileSync(path.join(dir, 'ca-key.pem'), storedCa.encryptedKeyPem, { mode: 0o600 });
    await exec('openssl', ['pkey', '-in', path.join(dir, 'ca-key.pem'), '-passin', `pass:${CA_PASSPHRASE}`, '-out', opensslCa.key]);
    fs.writeFileSync(opensslCa.extensions, [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
      'subjectAltName=email:bench@sampleCompany.com',
      'crlDistributionPoints=URI:https://certflow.example.jp/crl/kdanshinnet.crl',
      'authorityInfoAccess=OCSP;URI:https://certflow.example.jp/ocsp/kdanshinnet',
      '',
    ].join('\n'));

    let sequence = 0;
    for (const algorithm of KEY_ALGORITHMS) {
      const ca = authority(algorithm);
      const pipeline = async () => {
        const issuanceKey = `bench-${algorithm}-${sequence++}`;
        await ca.issue({
          issuanceKey, requestId: issuanceKey.slice(0, 32), profile: 'kdanshinnet', userId: 'emp002', organizationalUnits: ['div1-1-1', 'div1-1', 'div1'],
          organization: 'sampleCompany', country: 'JP', email: 'email.emp002@sampleCompany.com', subscriberId: 'emp002', notBefore: NOW, notAfter: NOT_AFTER,
        });
        await ca.buildPkcs12(issuanceKey, PKCS12_PASSWORD, { userId: 'emp002' });
        await ca.destroyKey(issuanceKey);
      };
      for (let i = 0; i < CORES; i++) await pipeline(); // warm-up: JIT and the CA cache

      const ceiling = await throughput(CORES, () => nativeKeyPair(algorithm));
      // Twice the cores in flight, so the key generation threads stay busy while JavaScript encodes.
      const pipelineRate = await throughput(CORES * 2, pipeline);
      const openssl = await throughput(CORES, (i) => opensslOnce(dir, algorithm, i, opensslCa));
      const round = (n: number) => Math.round(n * 100) / 100;
      console.log(JSON.stringify({
        bench: 'pki',
        alg: algorithm,
        pipeline_per_s: round(pipelineRate),
        ceiling_per_s: round(ceiling),
        openssl_per_s: round(openssl),
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      }));
      console.error(`[bench:pki] ${algorithm}: pipeline/ceiling ${(pipelineRate / ceiling).toFixed(2)}, pipeline/openssl ${(pipelineRate / openssl).toFixed(2)} (${CORES} cores, ${SECONDS} s each)`);
    }
  } finally {
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error('[bench:pki] failed:', error);
  process.exit(1);
});
