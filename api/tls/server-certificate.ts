// The TLS listener's own certificate: self-signed for the configured host names, generated once into <dataDir>/tls.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { x509 } from '../../engines/pki/crypto-provider';
import { addDays } from '../../workflows/time-rules';

export interface TlsServerCertificate {
  keyPem: string;
  certificatePem: string;
}

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const VALIDITY_DAYS = 397; // the longest a browser accepts for a server certificate

/** Reads <dir>/server-key.pem and server-cert.pem, creating them (key 0600) when missing or expired. */
export async function ensureTlsServerCertificate(dir: string, hostNames: string[] = ['localhost', '127.0.0.1', '::1']): Promise<TlsServerCertificate> {
  const keyFile = path.join(dir, 'server-key.pem');
  const certFile = path.join(dir, 'server-cert.pem');
  if (fs.existsSync(keyFile) && fs.existsSync(certFile)) {
    const existing = { keyPem: fs.readFileSync(keyFile, 'utf8'), certificatePem: fs.readFileSync(certFile, 'utf8') };
    if (new Date(new crypto.X509Certificate(existing.certificatePem).validTo).getTime() > addDays(Date.now(), 1)) return existing;
  }
  const created = await createSelfSignedServerCertificate(hostNames);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(keyFile, created.keyPem, { mode: 0o600 });
  fs.writeFileSync(certFile, created.certificatePem);
  return created;
}

export async function createSelfSignedServerCertificate(hostNames: string[]): Promise<TlsServerCertificate> {
  const keys = (await crypto.webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as crypto.webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto.randomBytes(16).toString('hex').replace(/^[89a-f]/, '4'),
    name: `CN=${hostNames[0] ?? 'localhost'}, O=certflow TLS listener`,
    notBefore,
    notAfter: new Date(addDays(notBefore.getTime(), VALIDITY_DAYS)),
    keys,
    signingAlgorithm: ECDSA_P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hostNames.map((h) => (/^[\d.:]+$/.test(h) ? { type: 'ip', value: h } : { type: 'dns', value: h }))),
    ],
  });
  const keyPem = crypto.KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { keyPem, certificatePem: certificate.toString('pem') };
}
