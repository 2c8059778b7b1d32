// The CA of each profile: created when missing (or imported from the files of earlier versions), kept in the database
// through the PKI store with its key reference (encrypted under the CA passphrase, or in a PKCS#11 token), opened for signing.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import type { CaKeyStore, CaKeyStores } from './ca-keys';
import { CaUnavailableError } from './errors';
import { addYears } from '../../workflows/time-rules';
import type { CaKeyAlgorithm, CertificateProfile } from './profiles';
import type { StoredCa } from './store';
import { randomSerial, subjectKeyIdentifier } from './serial';
import { caSigningKey, RSA_SHA256, rsaVerifyingKey, x509, type CaSign, type CryptoKey } from './crypto-provider';

export interface CaMaterial {
  profile: string;
  /** Which of the profile's CAs (1, then one more at each rollover). */
  generation: number;
  certificate: x509.X509Certificate;
  certificateDer: Buffer;
  certificatePem: string;
  /** Every signature of this CA (certificates, CRLs, OCSP responder certificates) is made here, by its key store. */
  sign: CaSign;
  /** The same signing for @peculiar/x509 (a stand-in key routed to `sign`). */
  signingKey: CryptoKey;
  /** The CA's subject key identifier, the authority key identifier of everything it signs. */
  keyId: Buffer;
  /** The CA subject as node-forge attributes, for the issuer of RSA leaves built with node-forge. */
  forgeSubject: forge.pki.CertificateField[];
}

/** Where versions before the database kept a profile's CA: `<caDir>/<profile>/ca-key.pem` (0600) and `ca-cert.pem`. */
export function caPaths(caDir: string, profile: string) {
  const dir = path.join(caDir, profile);
  return { dir, key: path.join(dir, 'ca-key.pem'), certificate: path.join(dir, 'ca-cert.pem') };
}

function modulusLength(algorithm: CaKeyAlgorithm): number {
  return Number(algorithm.slice('rsa-'.length));
}

/**
 * The CA's common name in a generation: the profile's for the first, "<name> G<n>" after a rollover, so the generations
 * published side by side have distinct names and every relying party picks the right issuer (and CRL) by name.
 */
export function caCommonName(profile: CertificateProfile, generation: number): string {
  return generation === 1 ? profile.caCommonName : `${profile.caCommonName} G${generation}`;
}

/**
 * A new key (made by `keys`: encrypted with the passphrase, or inside a token) and self-signed certificate for this
 * generation of the profile's CA; `discard` removes the key again when another process's CA is stored first.
 */
export async function generateCa(
  profile: CertificateProfile,
  keys: CaKeyStore,
  now: Date,
  generation = 1,
): Promise<{ ca: StoredCa; discard(): Promise<void> }> {
  const key = await keys.generate(profile.name, modulusLength(profile.caKeyAlgorithm), generation);
  const { publicKey } = key;
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const keyId = subjectKeyIdentifier(spki);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ C: [profile.caCountry] }, { O: [profile.caOrganization] }, { CN: [caCommonName(profile, generation)] }],
    notBefore: now,
    notAfter: new Date(addYears(now.getTime(), profile.caValidityYears)),
    keys: { privateKey: caSigningKey(key.sign), publicKey: await rsaVerifyingKey(publicKey) },
    signingAlgorithm: RSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectKeyIdentifierExtension(keyId.toString('hex')),
    ],
  });
  return {
    ca: { profile: profile.name, generation, certificatePem: certificate.toString('pem'), encryptedKeyPem: key.reference, createdAt: now },
    discard: key.discard,
  };
}

/**
 * The CA a version before the database left in `<caDir>/<profile>/`, to import as it is (key still encrypted);
 * undefined when there is none. Half a CA is an error: a new key would orphan every certificate the old one signed.
 */
export function readCaFiles(caDir: string, profile: string, now: Date): StoredCa | undefined {
  const files = caPaths(caDir, profile);
  const hasKey = fs.existsSync(files.key);
  const hasCertificate = fs.existsSync(files.certificate);
  if (!hasKey && !hasCertificate) return undefined;
  if (hasKey !== hasCertificate) {
    throw new CaUnavailableError(
      profile,
      `CA ${profile}: ${hasKey ? files.certificate : files.key} is missing while ${hasKey ? files.key : files.certificate} exists; restore it from backup`,
    );
  }
  return { profile, generation: 1, certificatePem: fs.readFileSync(files.certificate, 'utf8'), encryptedKeyPem: fs.readFileSync(files.key, 'utf8'), createdAt: now };
}

/**
 * Opens a stored CA for signing through the key store its reference belongs to; a passphrase that does not open the
 * key, a token without it, or a key of another certificate is a CaUnavailableError.
 */
export async function openCa(stored: StoredCa, keys: CaKeyStores, source = 'in the database'): Promise<CaMaterial> {
  const { profile, certificatePem } = stored;
  const key = await keys.forReference(profile, stored.encryptedKeyPem).open(profile, stored.encryptedKeyPem, source);
  const certificate = new x509.X509Certificate(certificatePem);
  const certificateDer = Buffer.from(certificate.rawData);
  const publicKey = crypto.createPublicKey(certificatePem);
  if (!key.publicKey.equals(publicKey)) {
    throw new CaUnavailableError(profile, `CA ${profile}: the key ${source} does not belong to its certificate`);
  }
  const keyId = subjectKeyIdentifier(publicKey.export({ format: 'der', type: 'spki' }));
  return {
    profile,
    generation: stored.generation,
    certificate,
    certificateDer,
    certificatePem,
    sign: key.sign,
    signingKey: caSigningKey(key.sign),
    keyId,
    forgeSubject: forge.pki.certificateFromAsn1(forge.asn1.fromDer(certificateDer.toString('binary'))).subject.attributes,
  };
}
