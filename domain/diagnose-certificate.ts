// "Why does the portal say forbidden?": whose a pasted or uploaded certificate is, its request, and the gate's exact reason.
import crypto from 'node:crypto';
import { x509 } from '../engines/pki/crypto-provider';
import type { IssuanceRequest } from '../stores';
import { PROFILES, type Profile, type RequestKind, type RequestStatus, type RevocationReason } from '../workflows/definitions';
import { createCaCertificates, gateVerdict, signingGeneration } from './client-certificate';
import { businessNow, type DomainDeps } from './deps';
import { Refusal } from './refusal';

/** Why the portal refuses the certificate now. */
export type DiagnosisRefusal = 'notIssuedByCertflow' | 'expired' | 'notYetValid' | 'revoked' | 'superseded';

export interface Successor {
  requestId: string;
  kind: RequestKind;
  status: RequestStatus;
}

export type DiagnosisVerdict =
  | { admitted: true; reason: string; /** A renewal was made: this certificate still serves until its notAfter. */ supersededBy?: Successor }
  | { admitted: false; refusal: DiagnosisRefusal; reason: string; revokedAt?: Date; revocationReason?: RevocationReason; supersededBy?: Successor };

export interface Diagnosis {
  serial: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** Which certflow CA signed it (name and signature checked), or none of them. */
  issuedBy: { profile: Profile } | 'notIssuedByCertflow';
  /** The user and request it was issued for, from the CA's records and the request projection. */
  owner?: { userId: string; profile: Profile; requestId: string; kind?: RequestKind; status?: RequestStatus; workflowId?: string };
  verdict: DiagnosisVerdict;
}

const MAX_INPUT_BYTES = 64 * 1024;

/** PEM text (a pasted one) or DER bytes (an uploaded .cer); anything else is refused, never thrown. */
export function parseCertificate(input: string | Buffer): crypto.X509Certificate {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.isBuffer(input) ? input : undefined;
  if (!bytes || bytes.length === 0) throw Refusal.invalid('no certificate given: paste a PEM certificate or upload a DER (.cer) file', 'certificate');
  if (bytes.length > MAX_INPUT_BYTES) throw Refusal.invalid(`a certificate is at most ${MAX_INPUT_BYTES / 1024} KiB`, 'certificate');
  const text = bytes.toString('latin1');
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(text)?.[0];
  if (!pem && /-----BEGIN /.test(text)) throw Refusal.invalid('the PEM text holds no CERTIFICATE block (a key or a request is not a certificate)', 'certificate');
  try {
    const certificate = new crypto.X509Certificate(pem ?? bytes);
    // The diagnosis reads the names with @peculiar/x509, which refuses some encodings OpenSSL lets through.
    new x509.X509Certificate(certificate.raw);
    return certificate;
  } catch {
    throw Refusal.invalid('not an X.509 certificate in PEM or DER', 'certificate');
  }
}

/** The first successor of the chain of this kind, following successor links. */
async function successorOf(deps: Pick<DomainDeps, 'stores'>, request: IssuanceRequest, kind: RequestKind): Promise<Successor | undefined> {
  let next = request.successorRequestId;
  for (let hops = 0; next && hops < 100; hops++) {
    const successor = await deps.stores.requests.find(next);
    if (!successor) return undefined;
    if (successor.kind === kind && successor.status !== 'reserved') return { requestId: successor.requestId, kind: successor.kind, status: successor.status };
    next = successor.successorRequestId;
  }
  return undefined;
}

export async function diagnoseCertificate(deps: Pick<DomainDeps, 'stores' | 'ca' | 'clock'>, input: string | Buffer): Promise<Diagnosis> {
  const certificate = parseCertificate(input);
  const readable = new x509.X509Certificate(certificate.raw);
  const serial = certificate.serialNumber.toLowerCase();
  const described = { serial, subject: readable.subject, issuer: readable.issuer, notBefore: new Date(certificate.validFrom), notAfter: new Date(certificate.validTo) };
  const foreign = (reason: string): Diagnosis => ({ ...described, issuedBy: 'notIssuedByCertflow', verdict: { admitted: false, refusal: 'notIssuedByCertflow', reason } });

  const caOf = createCaCertificates(deps.ca);
  let profile: Profile | undefined;
  for (const candidate of PROFILES) if (!profile && signingGeneration(certificate, await caOf(candidate)) !== undefined) profile = candidate;
  if (!profile) return foreign(`not issued by certflow: signed by "${readable.issuer}", which is none of certflow's CAs (${PROFILES.join(', ')})`);

  const status = await deps.ca.status(serial);
  const now = (await businessNow(deps)).getTime();
  const verdict = gateVerdict(status, profile, now);
  if (status.status === 'unknown') return { ...foreign(`signed by the ${profile} CA, but serial ${serial} is not in its records`), issuedBy: { profile } };

  const request = await deps.stores.requests.find(status.requestId);
  const base: Omit<Diagnosis, 'verdict'> = {
    ...described,
    issuedBy: { profile },
    owner: { userId: status.userId, profile: status.profile, requestId: status.requestId, kind: request?.kind, status: request?.status, workflowId: request?.workflowId },
  };
  const reissue = request && (await successorOf(deps, request, 'reissue'));
  if (!verdict.ok) {
    switch (verdict.refusal) {
      case 'revoked': {
        const revoked = { revokedAt: status.revokedAt, revocationReason: status.revocationReason };
        const when = `${status.revocationReason ?? 'unspecified'}, ${status.revokedAt?.toISOString() ?? 'date unknown'}`;
        if (reissue) return { ...base, verdict: { admitted: false, refusal: 'superseded', reason: `superseded by the reissue request ${reissue.requestId}: revoked (${when})`, ...revoked, supersededBy: reissue } };
        return { ...base, verdict: { admitted: false, refusal: 'revoked', reason: `revoked (${when})`, ...revoked } };
      }
      case 'expired':
        return { ...base, verdict: { admitted: false, refusal: 'expired', reason: `expired on ${status.notAfter.toISOString()}` } };
      case 'notYetValid':
        return { ...base, verdict: { admitted: false, refusal: 'notYetValid', reason: `not valid before ${status.notBefore.toISOString()}` } };
      default:
        return { ...base, verdict: { admitted: false, refusal: 'notIssuedByCertflow', reason: `the ${profile} CA's records give it to another profile` } };
    }
  }
  const renewal = request && (await successorOf(deps, request, 'renewal'));
  if (renewal) {
    return { ...base, verdict: { admitted: true, reason: `admitted until ${status.notAfter.toISOString()}, though superseded by the renewal request ${renewal.requestId} (${renewal.status})`, supersededBy: renewal } };
  }
  return { ...base, verdict: { admitted: true, reason: `admitted: valid until ${status.notAfter.toISOString()} and not revoked` } };
}
