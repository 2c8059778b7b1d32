// Signed CRLs with @peculiar/x509: CRL number, authority key identifier and reason codes.
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import type { RevokedEntry } from './store';
import type { CaMaterial } from './ca';
import { RSA_SHA256, x509 } from './crypto-provider';


export interface CrlContents {
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: RevokedEntry[];
}

/** Returns the DER CRL. */
export async function signCrl(ca: CaMaterial, contents: CrlContents): Promise<Buffer> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subjectName,
    thisUpdate: contents.thisUpdate,
    nextUpdate: contents.nextUpdate,
    signingKey: ca.signingKey,
    signingAlgorithm: RSA_SHA256,
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(ca.keyId.toString('hex')),
      new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(contents.crlNumber))),
    ],
    entries: contents.entries.map((entry) => ({
      serialNumber: entry.serial,
      revocationDate: entry.revokedAt,
      // RFC 5280 §5.3.1: the reason code unspecified should be absent rather than listed.
      reason: entry.reason === 'unspecified' ? undefined : x509.X509CrlReason[entry.reason],
    })),
  });
  return Buffer.from(crl.rawData);
}

/** Re-sign once half of the validity has passed, so a relying party caching until nextUpdate never holds a stale CRL. */
export function crlNeedsRefresh(current: { thisUpdate: Date; nextUpdate: Date } | undefined, now: Date): boolean {
  return !current || halfwayPassed(current.thisUpdate, current.nextUpdate, now);
}

/** Whether half of [from, to] has passed at `now`: when a CRL is re-signed and an OCSP signer renewed. */
export function halfwayPassed(from: Date, to: Date, now: Date): boolean {
  return now.getTime() >= from.getTime() + (to.getTime() - from.getTime()) / 2;
}
