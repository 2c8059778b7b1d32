// A bank's previous CA, made in the test with @peculiar/x509: its certificate, the user certificates it issued (with
// their keys, to present over TLS) and its CRL. It stands for the CA certflow takes the live certificates over from.
import crypto, { type webcrypto } from 'node:crypto';
import { x509 } from '../../engines/pki/crypto-provider';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface PreviousUser {
  userId: string;
  organization?: string;
  /** Most specific first, as certflow's registration lists them. */
  organizationalUnits?: string[];
  notBefore: Date;
  notAfter: Date;
  /** Hex; random when not given. */
  serial?: string;
}

export interface IssuedByPreviousCa {
  certificatePem: string;
  keyPem: string;
  serial: string;
}

export interface TestPreviousCa {
  name: string;
  certificatePem: string;
  fingerprint: string;
  issue(user: PreviousUser): Promise<IssuedByPreviousCa>;
  /** The CA's CRL (PEM) listing these serials. */
  crl(revoked: Array<{ serial: string; reason?: keyof typeof x509.X509CrlReason }>, thisUpdate?: Date): Promise<string>;
}

const pem = async (key: webcrypto.CryptoKey, type: 'pkcs8') =>
  `-----BEGIN PRIVATE KEY-----\n${Buffer.from(await crypto.webcrypto.subtle.exportKey(type, key)).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;

export async function createTestPreviousCa(name = 'Bank A Old Client CA', now = new Date()): Promise<TestPreviousCa> {
  const keys = (await crypto.webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const caName = `C=JP, O=Bank A, CN=${name}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto.randomBytes(8).toString('hex'),
    name: caName,
    notBefore: new Date(now.getTime() - 5 * 365 * DAY),
    notAfter: new Date(now.getTime() + 10 * 365 * DAY),
    keys,
    signingAlgorithm: EC,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return {
    name,
    certificatePem: ca.toString('pem'),
    fingerprint: crypto.createHash('sha256').update(Buffer.from(ca.rawData)).digest('hex'),

    async issue(user) {
      const leafKeys = (await crypto.webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
      // ASN.1 order: C, O, OU least specific first, CN.
      const ous = [...(user.organizationalUnits ?? ['div1-1-1', 'div1-1', 'div1'])].reverse().map((ou) => `OU=${ou}`);
      const serial = user.serial ?? `7${crypto.randomBytes(9).toString('hex')}`;
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serial,
        subject: ['C=JP', `O=${user.organization ?? 'sampleCompany'}`, ...ous, `CN=${user.userId}`].join(', '),
        issuer: ca.subject,
        notBefore: user.notBefore,
        notAfter: user.notAfter,
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: EC,
        extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
      });
      return { certificatePem: leaf.toString('pem'), keyPem: await pem(leafKeys.privateKey, 'pkcs8'), serial };
    },

    async crl(revoked, thisUpdate = now) {
      const crl = await x509.X509CrlGenerator.create({
        issuer: ca.subject,
        thisUpdate,
        nextUpdate: new Date(thisUpdate.getTime() + 7 * DAY),
        signingKey: keys.privateKey,
        signingAlgorithm: EC,
        entries: revoked.map((r) => ({ serialNumber: r.serial, revocationDate: thisUpdate, reason: r.reason && x509.X509CrlReason[r.reason] })),
      });
      return crl.toString('pem');
    },
  };
}
