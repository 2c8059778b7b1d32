// 申請情報の詳細 and 証明書の取得: what a user may read and fetch of their own requests (no HTTP here, never the key).
import { x509 } from '../engines/pki/crypto-provider';
import type { IssuanceRequest } from '../stores';
import { rulesOf, type Profile, type RequestKind } from '../workflows/definitions';
import type { DomainDeps } from './deps';
import { findOwnedRequest } from './key-retrieval';
import { Refusal } from './refusal';

const EVERY_KIND: RequestKind[] = ['new', 'reissue', 'renewal'];

/** The subject as the manual's screens list it: CN, then OUs most specific first, O, C. */
export interface SubjectNames {
  commonName: string;
  organizationalUnits: string[];
  organization: string;
  country: string;
}

export interface CertificateDetails {
  serial: string;
  notBefore: Date;
  notAfter: Date;
  subject: SubjectNames;
  email: string;
  revokedAt?: Date;
}

export interface RequestDetails {
  request: IssuanceRequest;
  certificate?: CertificateDetails;
}

/** Subject names read from the certificate itself, so the page shows what the certificate says. */
export function subjectNamesOf(certificate: string | Buffer): SubjectNames {
  const name = new x509.X509Certificate(certificate).subjectName;
  const first = (type: string) => name.getField(type)[0] ?? '';
  // ASN.1 order is C, O, OU (least specific first), CN; the screens show the reverse.
  return { commonName: first('CN'), organizationalUnits: name.getField('OU').reverse(), organization: first('O'), country: first('C') };
}

export function createCertificateDetails({ stores, ca }: Pick<DomainDeps, 'stores' | 'ca'>) {

  /** The user's own request of this profile (a reserved one reads as unknown, as in 申請情報一覧). */
  async function ownedRequest(requestId: string, owner: { profile: Profile; userId: string }): Promise<IssuanceRequest> {
    const request = await findOwnedRequest(stores.requests, requestId, { ...owner, kinds: EVERY_KIND });
    if (request.status === 'reserved') throw new Refusal('requestUnknown', `request ${requestId} has not started yet`, { field: 'requestId' });
    return request;
  }

  /** The CA's record of the request's current certificate, if one has been signed for it. */
  async function issuedFor(request: IssuanceRequest) {
    if (!request.serial) return undefined;
    const issued = (await ca.certificatesOf(request.profile, request.userId)).find((c) => c.serial === request.serial);
    return issued && issued.requestId === request.requestId ? issued : undefined;
  }

  return {
    ownedRequest,

    async details(requestId: string, owner: { profile: Profile; userId: string }): Promise<RequestDetails> {
      const request = await ownedRequest(requestId, owner);
      const issued = await issuedFor(request);
      if (!issued) return { request };
      return {
        request,
        certificate: {
          serial: issued.serial,
          notBefore: issued.notBefore,
          notAfter: issued.notAfter,
          subject: subjectNamesOf(issued.certificatePem),
          email: issued.email,
          ...(issued.revokedAt ? { revokedAt: issued.revokedAt } : {}),
        },
      };
    },

    /** The public certificate (DER) of a delivered, unrevoked certificate; otherwise why not, in the user's words. */
    async certificateFile(requestId: string, owner: { profile: Profile; userId: string }): Promise<{ fileName: string; der: Buffer }> {
      const request = await ownedRequest(requestId, owner);
      if (request.status === 'requestExpired') throw new Refusal('requestExpired', `request ${requestId} expired before its key was retrieved`);
      // Until the key has left certflow the certificate may still be withdrawn, so it is not handed out.
      const issued = rulesOf(request.status).delivered ? await issuedFor(request) : undefined;
      if (!issued && request.status === 'revoked') throw new Refusal('requestWithdrawn', `request ${requestId} was withdrawn before its key was retrieved`);
      if (!issued) throw new Refusal('certificateNotIssued', `request ${requestId} has no delivered certificate yet`);
      // The CA is the authority on revocation; the projection may lag a revocation by a moment.
      if (request.status === 'revoked' || (await ca.status(issued.serial)).status !== 'good') {
        throw new Refusal('certificateRevoked', `the certificate of request ${requestId} is revoked`);
      }
      return { fileName: `${request.userId}.cer`, der: Buffer.from(new x509.X509Certificate(issued.certificatePem).rawData) };
    },
  };
}

export type CertificateDetailsService = ReturnType<typeof createCertificateDetails>;
