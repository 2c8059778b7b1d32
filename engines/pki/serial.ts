// Serial numbers and key identifiers, the same for CA and leaf certificates.
import crypto from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';

/** 16 random bytes with the top bits fixed to 01: always positive, always 16 bytes, 126 bits of entropy. */
export function randomSerial(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = 0x40 | (bytes[0] & 0x3f);
  return bytes.toString('hex');
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits, as OpenSSL computes it. */
export function subjectKeyIdentifier(spkiDer: Buffer): Buffer {
  return publicKeyHash(spkiDer, 'sha1');
}

/** A hash of the subjectPublicKey bits: the key identifier above, an OCSP CertID's issuerKeyHash and responder ID. */
export function publicKeyHash(spkiDer: Buffer, algorithm: string): Buffer {
  const spki = AsnConvert.parse(spkiDer, SubjectPublicKeyInfo);
  return crypto.createHash(algorithm).update(Buffer.from(spki.subjectPublicKey)).digest();
}
