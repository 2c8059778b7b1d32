// 申請情報の詳細 and 証明書の取得: what a user may read and fetch of their own requests (no HTTP here, never the key).
import type { Db } from '../infra/db';
import type { CertificateAuthority } from '../engines/pki';
import { x509 } from '../engines/pki/crypto-provider';
import { createRequestStore, type IssuanceRequest } from '../stores/requests';
import type { Profile, RequestKind } from '../workflows/definitions';
import { HttpError } from '../api/errors';
import { findOwnedRequest } from './key-retrieval';
import { MESSAGES } from '../api/web/messages';

const EVERY_KIND: RequestKind[] = ['new', 'reissue', 'renewal'];
// The key has left certflow in these states, so the certificate is the user's; before that it may still be withdrawn.
const DELIVERED = new Set<IssuanceRequest['status']>(['active', 'renewed', 'expired', 'revoked']);

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

export function createCertificateDetails({ db, ca }: { db: Db; ca: CertificateAuthority }) {
  const requests = createRequestStore(db);

  /** The user's own request of this profile (a reserved one reads as unknown, as in 申請情報一覧). */
  async function ownedRequest(requestId: string, owner: { profile: Profile; userId: string }): Promise<IssuanceRequest> {
    const request = await findOwnedRequest(requests, requestId, { ...owner, kinds: EVERY_KIND });
    if (request.status === 'reserved') throw new HttpError(422, 'request_id_invalid', MESSAGES.requestIdInvalid, 'requestId');
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
      if (request.status === 'requestExpired') throw new HttpError(409, 'request_expired', MESSAGES.requestExpired);
      const issued = DELIVERED.has(request.status) ? await issuedFor(request) : undefined;
      if (!issued && request.status === 'revoked') throw new HttpError(409, 'request_withdrawn', MESSAGES.requestWithdrawn);
      if (!issued) throw new HttpError(409, 'certificate_not_issued', MESSAGES.certificateNotIssued);
      // The CA is the authority on revocation; the projection may lag a revocation by a moment.
      if (request.status === 'revoked' || (await ca.status(issued.serial)).status !== 'good') {
        throw new HttpError(409, 'certificate_revoked', MESSAGES.certificateRevoked);
      }
      return { fileName: `${request.userId}.cer`, der: Buffer.from(new x509.X509Certificate(issued.certificatePem).rawData) };
    },
  };
}

export type CertificateDetailsService = ReturnType<typeof createCertificateDetails>;
