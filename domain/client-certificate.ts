// Is the certificate the browser presented one of ours, of this profile, unrevoked and within its validity? For
// renewal only, a certificate imported from a previous CA of the profile is admitted too (migration-import.ts).
import crypto from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { CertificateAuthority, CertificateStatusReport, PreviousCaCertificate, PreviousCas } from '../engines/pki';
import type { Stores } from '../stores';
import { rulesOf, type Profile } from '../workflows/definitions';
import type { CertificateGateway } from './certificate-gateway';
import type { Clock } from './deps';
import { subjectNamesOf } from './certificate-details';

/** What the certificate is presented for: the relying portal's gate, the renewal pages, or the support console. */
export type CertificatePurpose = 'gate' | 'renewal' | 'console';

/** A previous CA is trusted to renew the certificates imported from it, and for nothing else. */
const ADMITS_IMPORTED: Record<CertificatePurpose, boolean> = { gate: false, renewal: true, console: false };

export interface PresentedCertificate {
  serial: string;
  profile: Profile;
  userId: string;
  /** The request the certificate was issued for. */
  requestId: string;
  commonName: string;
  /** Most specific first, as on the manual's renewal screen. */
  organizationalUnits: string[];
  organization: string;
  country: string;
  /** CN first, as the manual lists it: CN=emp002, OU=div1-1-1, …, C=JP. */
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

export type CertificateRefusal = 'none' | 'foreign' | 'revoked' | 'expired' | 'notYetValid';

export type CertificateCheck = { ok: true; certificate: PresentedCertificate } | { ok: false; refusal: CertificateRefusal };

interface ParsedPeer {
  presented: crypto.X509Certificate;
  serial: string;
  /** Per profile, the generation of its CA that signed it (undefined: none did). */
  issuedBy: Map<Profile, number | undefined>;
  /** Per profile, the previous CA that signed it (null: none did). */
  previousIssuer: Map<Profile, PreviousCaCertificate | null>;
  /** Read once the signature is known to be a certflow CA's (or a previous CA's): a forged certificate's names may not even parse. */
  names?: Pick<PresentedCertificate, 'commonName' | 'organizationalUnits' | 'organization' | 'country' | 'subject'>;
}

function parseNames(raw: Buffer): NonNullable<ParsedPeer['names']> {
  const names = subjectNamesOf(raw);
  const rdns = [['CN', names.commonName], ...names.organizationalUnits.map((ou) => ['OU', ou]), ['O', names.organization], ['C', names.country]];
  return { ...names, subject: rdns.map(([type, value]) => `${type}=${value!.replace(/([,+"\\<>;=])/g, '\\$1')}`).join(', ') };
}

export interface CaCertificate {
  generation: number;
  certificate: crypto.X509Certificate;
}

/** Every generation of each profile's CA (after a rollover, more than one), each certificate parsed once. */
export function createCaCertificates(ca: Pick<CertificateAuthority, 'caGenerations'>): (profile: Profile) => Promise<CaCertificate[]> {
  const parsed = new Map<string, crypto.X509Certificate>();
  return async (profile) =>
    (await ca.caGenerations(profile)).map(({ generation, certificatePem }) => {
      let certificate = parsed.get(certificatePem);
      if (!certificate) parsed.set(certificatePem, (certificate = new crypto.X509Certificate(certificatePem)));
      return { generation, certificate };
    });
}

/** Signed by this CA: its name as the issuer and its key's signature. */
export function signedBy(certificate: crypto.X509Certificate, caCertificate: crypto.X509Certificate): boolean {
  return certificate.checkIssued(caCertificate) && certificate.verify(caCertificate.publicKey);
}

/** The generation of these CA certificates that signed it; undefined when none did. */
export function signingGeneration(certificate: crypto.X509Certificate, cas: CaCertificate[]): number | undefined {
  return cas.find((ca) => signedBy(certificate, ca.certificate))?.generation;
}

export type KnownCertificate = Exclude<CertificateStatusReport, { status: 'unknown' }>;

/**
 * What the portal gate decides from the CA's record of a certificate signed by the profile's CA: revocation first,
 * then validity at `now`. The one place that rule is written; the gate and the support diagnosis both use it.
 */
export function gateVerdict(status: CertificateStatusReport, profile: Profile, now: number): { ok: true; status: KnownCertificate } | { ok: false; refusal: Exclude<CertificateRefusal, 'none'> } {
  if (status.status === 'unknown' || status.profile !== profile) return { ok: false, refusal: 'foreign' };
  if (status.status === 'revoked') return { ok: false, refusal: 'revoked' };
  if (now < status.notBefore.getTime()) return { ok: false, refusal: 'notYetValid' };
  if (now >= status.notAfter.getTime()) return { ok: false, refusal: 'expired' };
  return { ok: true, status };
}

export function createClientCertificateCheck({ ca, previousCas, stores, certificates, clock }: {
  ca: CertificateAuthority;
  previousCas: PreviousCas;
  stores: Pick<Stores, 'importedCertificates' | 'requests'>;
  certificates: Pick<CertificateGateway, 'currentState'>;
  clock: Clock;
}) {
  const caOf = createCaCertificates(ca);
  // The peer's certificate never changes on a connection: parse it and verify its signature once per socket.
  const peers = new WeakMap<TLSSocket, ParsedPeer | null>();

  function peerOf(socket: TLSSocket): ParsedPeer | null {
    let peer = peers.get(socket);
    if (peer === undefined) {
      const presented = typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
      peer = presented ? { presented, serial: presented.serialNumber.toLowerCase(), issuedBy: new Map(), previousIssuer: new Map() } : null;
      peers.set(socket, peer);
    }
    return peer;
  }

  async function issuedBy(peer: ParsedPeer, profile: Profile): Promise<number | undefined> {
    if (!peer.issuedBy.has(profile)) peer.issuedBy.set(profile, signingGeneration(peer.presented, await caOf(profile)));
    return peer.issuedBy.get(profile);
  }

  /** A certificate of a previous CA: admitted while it is the one imported and its request still holds it. */
  async function checkImported(peer: ParsedPeer, profile: Profile): Promise<CertificateCheck> {
    let signed = peer.previousIssuer.get(profile);
    if (signed === undefined) {
      signed = (await previousCas.identify(profile, peer.presented)) ?? null;
      peer.previousIssuer.set(profile, signed);
    }
    if (!signed) return { ok: false, refusal: 'foreign' };
    const imported = await stores.importedCertificates.find(signed.issuer.fingerprint, signed.serial);
    if (!imported || imported.fingerprint !== signed.fingerprint || imported.profile !== profile) return { ok: false, refusal: 'foreign' };
    const problem = await previousCas.problem(signed, await clock());
    if (problem) return { ok: false, refusal: problem.refusal };
    // Revoked or expired in certflow (the previous CA's CRL cannot say so); renewed still serves its successor's pages.
    const request = await stores.requests.find(imported.requestId);
    // Reserved: imported a moment ago, before its workflow recorded its first state; the workflow knows.
    const status = request?.status === 'reserved' ? await certificates.currentState(request) : request?.status;
    if (status === 'revoked' || status === 'expired') return { ok: false, refusal: status };
    if (!status || !rulesOf(status).holdsCertificate) return { ok: false, refusal: 'foreign' };
    return {
      ok: true,
      certificate: {
        serial: signed.serial,
        profile,
        userId: imported.userId,
        requestId: imported.requestId,
        ...(peer.names ??= parseNames(peer.presented.raw)),
        notBefore: signed.notBefore,
        notAfter: signed.notAfter,
      },
    };
  }

  return async function check(socket: TLSSocket, profile: Profile, purpose: CertificatePurpose): Promise<CertificateCheck> {
    const peer = peerOf(socket);
    if (!peer) return { ok: false, refusal: 'none' };
    const generation = await issuedBy(peer, profile);
    if (generation === undefined) return ADMITS_IMPORTED[purpose] ? checkImported(peer, profile) : { ok: false, refusal: 'foreign' };
    // Revocation is read on every request: a keep-alive connection must not outlive a revocation.
    const verdict = gateVerdict(await ca.status(peer.serial), profile, (await clock()).getTime());
    if (!verdict.ok) return verdict;
    // Issuer + serial: our record of this serial must be of the CA generation that signed what was presented.
    if (verdict.status.caGeneration !== generation) return { ok: false, refusal: 'foreign' };
    const { status } = verdict;
    return {
      ok: true,
      certificate: {
        serial: status.serial,
        profile,
        userId: status.userId,
        requestId: status.requestId,
        ...(peer.names ??= parseNames(peer.presented.raw)),
        notBefore: status.notBefore,
        notAfter: status.notAfter,
      },
    };
  };
}

export type ClientCertificateCheck = ReturnType<typeof createClientCertificateCheck>;
