// The CA of each profile: key and certificate files, created when missing, the key encrypted at rest with the passphrase.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { CaUnavailableError } from './errors';
import { addYears } from '../../workflows/time-rules';
import type { CaKeyAlgorithm, CertificateProfile } from './profiles';
import { randomSerial, subjectKeyIdentifier } from './serial';
import { RSA_SHA256, rsaSigningKey, rsaVerifyingKey, x509, type CryptoKey } from './crypto-provider';

const generateKeyPair = promisify(crypto.generateKeyPair);

export interface CaMaterial {
  profile: string;
  certificate: x509.X509Certificate;
  certificateDer: Buffer;
  certificatePem: string;
  privateKey: crypto.KeyObject;
  /** The same key for WebCrypto signers (@peculiar/x509). */
  signingKey: CryptoKey;
  /** The CA's subject key identifier, the authority key identifier of everything it signs. */
  keyId: Buffer;
  /** The CA subject as node-forge attributes, for the issuer of RSA leaves built with node-forge. */
  forgeSubject: forge.pki.CertificateField[];
}

export function caPaths(caDir: string, profile: string) {
  const dir = path.join(caDir, profile);
  return { dir, key: path.join(dir, 'ca-key.pem'), certificate: path.join(dir, 'ca-cert.pem') };
}

function modulusLength(algorithm: CaKeyAlgorithm): number {
  return Number(algorithm.slice('rsa-'.length));
}

/** Creates the CA key and self-signed certificate when neither file exists; returns whether it created them. */
export async function createCaIfMissing(caDir: string, profile: CertificateProfile, passphrase: string, now: Date): Promise<boolean> {
  const files = caPaths(caDir, profile.name);
  const hasKey = fs.existsSync(files.key);
  const hasCertificate = fs.existsSync(files.certificate);
  if (hasKey && hasCertificate) return false;
  if (hasKey !== hasCertificate) {
    // Never replace half a CA: a new key would orphan every certificate the old one signed.
    throw new CaUnavailableError(
      profile.name,
      `CA ${profile.name}: ${hasKey ? files.certificate : files.key} is missing while ${hasKey ? files.key : files.certificate} exists; restore it from backup`,
    );
  }
  const { privateKey, publicKey } = await generateKeyPair('rsa', { modulusLength: modulusLength(profile.caKeyAlgorithm) });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const keyId = subjectKeyIdentifier(spki);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ C: [profile.caCountry] }, { O: [profile.caOrganization] }, { CN: [profile.caCommonName] }],
    notBefore: now,
    notAfter: new Date(addYears(now.getTime(), profile.caValidityYears)),
    keys: { privateKey: await rsaSigningKey(privateKey), publicKey: await rsaVerifyingKey(publicKey) },
    signingAlgorithm: RSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectKeyIdentifierExtension(keyId.toString('hex')),
    ],
  });
  fs.mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  const encryptedKey = privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase });
  writeFileAtomically(files.key, encryptedKey, 0o600);
  writeFileAtomically(files.certificate, certificate.toString('pem'), 0o644);
  return true;
}

function writeFileAtomically(file: string, content: string | Buffer, mode: number): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, content, { mode, flag: 'wx' });
  fs.chmodSync(temporary, mode); // the umask may have narrowed or widened what writeFileSync set
  fs.renameSync(temporary, file);
}

/** Reads and decrypts a profile's CA; a missing file or a passphrase that does not open the key is a CaUnavailableError. */
export async function loadCa(caDir: string, profile: string, passphrase: string): Promise<CaMaterial> {
  const files = caPaths(caDir, profile);
  if (!fs.existsSync(files.key) || !fs.existsSync(files.certificate)) {
    throw new CaUnavailableError(profile, `CA ${profile} is not set up in ${files.dir}: run \`npm run ca:init\``);
  }
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey({ key: fs.readFileSync(files.key), format: 'pem', passphrase });
  } catch {
    throw new CaUnavailableError(profile, `CA ${profile}: the key ${files.key} cannot be decrypted; CERTFLOW_CA_PASSPHRASE is wrong`);
  }
  const certificatePem = fs.readFileSync(files.certificate, 'utf8');
  const certificate = new x509.X509Certificate(certificatePem);
  const certificateDer = Buffer.from(certificate.rawData);
  const publicKey = crypto.createPublicKey(certificatePem);
  if (!crypto.createPublicKey(privateKey).equals(publicKey)) {
    throw new CaUnavailableError(profile, `CA ${profile}: ${files.key} does not belong to ${files.certificate}`);
  }
  const keyId = subjectKeyIdentifier(publicKey.export({ format: 'der', type: 'spki' }));
  return {
    profile,
    certificate,
    certificateDer,
    certificatePem,
    privateKey,
    signingKey: await rsaSigningKey(privateKey),
    keyId,
    forgeSubject: forge.pki.certificateFromAsn1(forge.asn1.fromDer(certificateDer.toString('binary'))).subject.attributes,
  };
}
