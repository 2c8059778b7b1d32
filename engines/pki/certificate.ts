// Signs an end-user certificate: node-forge encodes RSA leaves and Node signs the TBSCertificate natively;
// EC leaves go through @peculiar/x509 (node-forge cannot encode an EC public key), also signed natively via WebCrypto.
import crypto from 'node:crypto';
import forge from 'node-forge';
import type { CaMaterial } from './ca';
import { RSA_SHA256, x509 } from './crypto-provider';
import { subjectKeyIdentifier } from './serial';
import { subjectRdns, type SubjectInput } from './subject';

// Present in node-forge, missing from @types/node-forge.
const getTBSCertificate = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate;

export interface LeafTemplate {
  serial: string;
  subject: SubjectInput;
  notBefore: Date;
  notAfter: Date;
  crlUrl: string;
  ocspUrl: string;
}

/** Authority Information Access with the CA's OCSP responder, as @peculiar/x509 encodes it (node-forge has no encoder). */
function authorityInfoAccess(ocspUrl: string) {
  return new x509.AuthorityInfoAccessExtension({ ocsp: [ocspUrl] });
}

// PrintableString where the value allows it (as OpenSSL and @peculiar/x509 choose), UTF8String otherwise (Japanese names).
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

const FORGE_ATTRIBUTE_NAMES = { C: 'countryName', O: 'organizationName', OU: 'organizationalUnitName', CN: 'commonName' } as const;

/** Returns the DER certificate. */
export async function signLeafCertificate(ca: CaMaterial, template: LeafTemplate, publicKey: crypto.KeyObject): Promise<Buffer> {
  return publicKey.asymmetricKeyType === 'rsa' ? signRsaLeaf(ca, template, publicKey) : signOtherLeaf(ca, template, publicKey);
}

function signRsaLeaf(ca: CaMaterial, template: LeafTemplate, publicKey: crypto.KeyObject): Buffer {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const certificate = forge.pki.createCertificate();
  certificate.serialNumber = template.serial;
  certificate.publicKey = forge.pki.publicKeyFromAsn1(forge.asn1.fromDer(spki.toString('binary')));
  certificate.validity.notBefore = template.notBefore;
  certificate.validity.notAfter = template.notAfter;
  certificate.setSubject(
    subjectRdns(template.subject).map(({ type, value }) => ({
      name: FORGE_ATTRIBUTE_NAMES[type],
      value,
      valueTagClass: PRINTABLE.test(value) ? forge.asn1.Type.PRINTABLESTRING : forge.asn1.Type.UTF8,
    })) as unknown as forge.pki.CertificateField[],
  );
  certificate.setIssuer(ca.forgeSubject);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.keyId.toString('binary') },
    { name: 'subjectAltName', altNames: [{ type: 1, value: template.subject.email }] },
    { name: 'cRLDistributionPoints', altNames: [{ type: 6, value: template.crlUrl }] },
    ((aia) => ({ id: aia.type, value: Buffer.from(aia.value).toString('binary') }))(authorityInfoAccess(template.ocspUrl)),
  ]);
  certificate.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption;
  certificate.signatureOid = forge.pki.oids.sha256WithRSAEncryption;
  const tbs = getTBSCertificate(certificate);
  // The signature is the costly part; Node's OpenSSL does it ~50× faster than node-forge's JavaScript RSA.
  const signature = crypto.sign('sha256', Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary'), ca.privateKey);
  (certificate as unknown as { tbsCertificate: forge.asn1.Asn1 }).tbsCertificate = tbs;
  certificate.signature = signature.toString('binary');
  return Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(certificate)).getBytes(), 'binary');
}

async function signOtherLeaf(ca: CaMaterial, template: LeafTemplate, publicKey: crypto.KeyObject): Promise<Buffer> {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: template.serial,
    subject: subjectRdns(template.subject).map(({ type, value }) => ({ [type]: [value] })),
    issuer: ca.certificate.subjectName,
    notBefore: template.notBefore,
    notAfter: template.notAfter,
    publicKey: spki,
    signingKey: ca.signingKey,
    signingAlgorithm: RSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // An EC key cannot encipher keys (RFC 5480 §3), so it carries digitalSignature alone.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectKeyIdentifierExtension(subjectKeyIdentifier(spki).toString('hex')),
      new x509.AuthorityKeyIdentifierExtension(ca.keyId.toString('hex')),
      new x509.SubjectAlternativeNameExtension([{ type: 'email', value: template.subject.email }]),
      new x509.CRLDistributionPointsExtension([template.crlUrl]),
      authorityInfoAccess(template.ocspUrl),
    ],
  });
  return Buffer.from(certificate.rawData);
}
