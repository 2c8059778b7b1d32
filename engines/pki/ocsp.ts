// OCSP (RFC 6960) through @peculiar/asn1-ocsp: the CA's delegated signing certificate, requests read, responses signed.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  id_kp_OCSPSigning,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nocheck,
  id_pkix_ocsp_nonce,
  KeyHash,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
} from '@peculiar/asn1-ocsp';
import { id_sha256WithRSAEncryption } from '@peculiar/asn1-rsa';
import { AsnConvert, AsnNullConverter, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CRLReason, CRLReasons, Extension } from '@peculiar/asn1-x509';
import type { RevocationReason } from '../../workflows/definitions';
import { addDays } from '../../workflows/time-rules';
import type { CaMaterial } from './ca';
import { halfwayPassed } from './crl';
import { RSA_SHA256, x509 } from './crypto-provider';
import { CaUnavailableError } from './errors';
import { publicKeyHash, randomSerial, subjectKeyIdentifier } from './serial';
import type { StoredOcspResponder } from './store';

const generateKeyPair = promisify(crypto.generateKeyPair);

/** The hash algorithms a CertID may use (RFC 6960 §4.1.1 and RFC 5019 ask for SHA-1; some clients send SHA-2). */
const CERT_ID_HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** More serials than this in one request is not a client certflow serves, only a cost. */
const MAX_REQUESTS = 16;
/** RFC 8954 §2.1: a nonce is 1 to 32 octets. */
const MAX_NONCE = 32;
/** Clocks of relying parties and of certflow's processes differ; a signer valid only from this instant would fail them. */
const SIGNER_BACKDATE_MS = 60 * 60_000;

/** The opened responder: what signs and what identifies it in every response. */
export interface OcspSigner {
  serial: string;
  notBefore: Date;
  notAfter: Date;
  privateKey: crypto.KeyObject;
  certificate: Certificate;
  certificatePem: string;
  /** SHA-1 of its public key: the responder ID byKey (RFC 6960 §4.2.2.3). */
  keyHash: Buffer;
}

export class MalformedOcspRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedOcspRequest';
  }
}

export interface ParsedOcspRequest {
  certIds: CertID[];
  /** The nonce extension as sent, to echo (RFC 6960 §4.4.1); absent when the client sent none. */
  nonce?: Extension;
}

export type CertIdStatus =
  | { status: 'good' }
  | { status: 'unknown' }
  | { status: 'revoked'; revokedAt: Date; reason: RevocationReason };

/** A new RSA key and a certificate for it from the CA: id-kp-OCSPSigning, id-pkix-ocsp-nocheck, within the CA's validity. */
export async function generateOcspSigner(ca: CaMaterial, validityDays: number, passphrase: string, now: Date): Promise<StoredOcspResponder> {
  const { privateKey, publicKey } = await generateKeyPair('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const serial = randomSerial();
  const notBefore = new Date(Math.max(now.getTime() - SIGNER_BACKDATE_MS, ca.certificate.notBefore.getTime()));
  const notAfter = new Date(Math.min(addDays(now.getTime(), validityDays), ca.certificate.notAfter.getTime()));
  const caName = ca.certificate.subjectName;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: [{ C: caName.getField('C') }, { O: caName.getField('O') }, { CN: [`${caName.getField('CN')[0]} OCSP Responder`] }],
    issuer: ca.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: spki,
    signingKey: ca.signingKey,
    signingAlgorithm: RSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([id_kp_OCSPSigning], true),
      // RFC 6960 §4.2.2.2.1: relying parties need not ask anyone whether the responder itself is revoked.
      new x509.Extension(id_pkix_ocsp_nocheck, false, AsnNullConverter.toASN(null).toBER()),
      new x509.SubjectKeyIdentifierExtension(subjectKeyIdentifier(spki).toString('hex')),
      new x509.AuthorityKeyIdentifierExtension(ca.keyId.toString('hex')),
    ],
  });
  return {
    profile: ca.profile,
    caGeneration: ca.generation,
    serial,
    certificatePem: certificate.toString('pem'),
    encryptedKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase }) as string,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
  };
}

/** Whether a stored signer must be replaced at `now`: half its validity gone, not yet valid, or not signed by this CA. */
export async function ocspSignerUsable(stored: StoredOcspResponder, ca: CaMaterial, now: Date): Promise<boolean> {
  if (now < stored.notBefore || halfwayPassed(stored.notBefore, stored.notAfter, now)) return false;
  return new x509.X509Certificate(stored.certificatePem).verify({ publicKey: ca.certificate.publicKey, signatureOnly: true });
}

export function openOcspSigner(stored: StoredOcspResponder, passphrase: string): OcspSigner {
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey({ key: stored.encryptedKeyPem, format: 'pem', passphrase });
  } catch {
    throw new CaUnavailableError(stored.profile, `OCSP responder ${stored.profile}: its key cannot be decrypted; CERTFLOW_CA_PASSPHRASE is wrong`);
  }
  const der = Buffer.from(new x509.X509Certificate(stored.certificatePem).rawData);
  const spki = crypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return {
    serial: stored.serial,
    notBefore: stored.notBefore,
    notAfter: stored.notAfter,
    privateKey,
    certificate: AsnConvert.parse(der, Certificate),
    certificatePem: stored.certificatePem,
    keyHash: subjectKeyIdentifier(spki),
  };
}

/** Reads a DER OCSPRequest; anything that is not one, or asks nothing, is a MalformedOcspRequest. */
export function parseOcspRequest(der: Buffer): ParsedOcspRequest {
  let request: OCSPRequest;
  try {
    request = AsnConvert.parse(der, OCSPRequest);
  } catch {
    throw new MalformedOcspRequest('not a DER OCSPRequest');
  }
  const { requestList, requestExtensions } = request.tbsRequest;
  if (requestList.length === 0) throw new MalformedOcspRequest('the request asks about no certificate');
  if (requestList.length > MAX_REQUESTS) throw new MalformedOcspRequest(`more than ${MAX_REQUESTS} certificates in one request`);
  const nonce = requestExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
  if (nonce) {
    let length: number;
    try {
      length = AsnConvert.parse(nonce.extnValue.buffer, OctetString).byteLength;
    } catch {
      throw new MalformedOcspRequest('the nonce is not an OCTET STRING');
    }
    if (length < 1 || length > MAX_NONCE) throw new MalformedOcspRequest(`the nonce must be 1 to ${MAX_NONCE} octets`);
  }
  return { certIds: requestList.map((r) => r.reqCert), nonce: nonce && new Extension({ extnID: id_pkix_ocsp_nonce, extnValue: nonce.extnValue }) };
}

/**
 * The serial a CertID asks about, when it names this CA (issuer name and key hashes match); undefined when it names
 * another issuer or uses a hash this responder does not know — answered `unknown`.
 */
export function serialAskedOf(certId: CertID, ca: CaMaterial): string | undefined {
  const algorithm = CERT_ID_HASHES[certId.hashAlgorithm.algorithm];
  if (!algorithm) return undefined;
  const { nameHash, keyHash } = issuerHashes(ca, algorithm);
  if (!nameHash.equals(Buffer.from(certId.issuerNameHash.buffer)) || !keyHash.equals(Buffer.from(certId.issuerKeyHash.buffer))) return undefined;
  const serial = Buffer.from(certId.serialNumber).toString('hex').replace(/^(00)+(?=.)/, '');
  return /^[0-9a-f]{1,40}$/.test(serial) ? serial : undefined;
}

// Per CA and hash algorithm, computed once: every request compares against them.
const issuerHashCache = new WeakMap<CaMaterial, Map<string, { nameHash: Buffer; keyHash: Buffer }>>();

function issuerHashes(ca: CaMaterial, algorithm: string): { nameHash: Buffer; keyHash: Buffer } {
  let byAlgorithm = issuerHashCache.get(ca);
  if (!byAlgorithm) issuerHashCache.set(ca, (byAlgorithm = new Map()));
  let hashes = byAlgorithm.get(algorithm);
  if (!hashes) {
    hashes = {
      nameHash: crypto.createHash(algorithm).update(Buffer.from(ca.certificate.subjectName.toArrayBuffer())).digest(),
      keyHash: publicKeyHash(Buffer.from(ca.certificate.publicKey.rawData), algorithm),
    };
    byAlgorithm.set(algorithm, hashes);
  }
  return hashes;
}

/** A stable text for a CertID, to key cached responses by what was asked. */
export function certIdKey(certId: CertID): string {
  return Buffer.from(AsnConvert.serialize(certId)).toString('base64');
}

const wholeSeconds = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);

function certStatus(answer: CertIdStatus): CertStatus {
  if (answer.status === 'good') return new CertStatus({ good: null });
  if (answer.status === 'unknown') return new CertStatus({ unknown: null });
  return new CertStatus({
    revoked: new RevokedInfo({ revocationTime: wholeSeconds(answer.revokedAt), revocationReason: new CRLReason(CRLReasons[answer.reason]) }),
  });
}

/** A successful, signed basic OCSP response: one SingleResponse per CertID asked, the nonce echoed, the signer attached. */
export function signOcspResponse(
  signer: OcspSigner,
  answers: Array<{ certId: CertID; answer: CertIdStatus }>,
  options: { producedAt: Date; nextUpdate: Date; nonce?: Extension },
): Buffer {
  const thisUpdate = wholeSeconds(options.producedAt);
  const tbsResponseData = new ResponseData({
    responderID: new ResponderID({ byKey: new KeyHash(signer.keyHash) }),
    producedAt: thisUpdate,
    responses: answers.map(
      ({ certId, answer }) => new SingleResponse({ certID: certId, certStatus: certStatus(answer), thisUpdate, nextUpdate: wholeSeconds(options.nextUpdate) }),
    ),
    responseExtensions: options.nonce ? [options.nonce] : undefined,
  });
  const signature = crypto.sign('sha256', Buffer.from(AsnConvert.serialize(tbsResponseData)), signer.privateKey);
  const basic = new BasicOCSPResponse({
    tbsResponseData,
    // Not asn1-rsa's `sha256WithRSAEncryption` constant: in 2.11.1 it carries the OID of sha512-256WithRSAEncryption.
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: id_sha256WithRSAEncryption, parameters: null }),
    signature: new Uint8Array(signature).buffer,
    certs: [signer.certificate],
  });
  return encodeResponse(
    new OCSPResponse({
      responseStatus: OCSPResponseStatus.successful,
      responseBytes: new ResponseBytes({ responseType: id_pkix_ocsp_basic, response: new OctetString(AsnConvert.serialize(basic)) }),
    }),
  );
}

/** An unsigned error response (RFC 6960 §2.3): malformedRequest, internalError, tryLater… */
export function ocspErrorResponse(status: Exclude<OCSPResponseStatus, OCSPResponseStatus.successful>): Buffer {
  return encodeResponse(new OCSPResponse({ responseStatus: status }));
}

/** The two error answers the HTTP side sends itself: a request it cannot read, a failure behind it. */
export const OCSP_MALFORMED_REQUEST = ocspErrorResponse(OCSPResponseStatus.malformedRequest);
export const OCSP_INTERNAL_ERROR = ocspErrorResponse(OCSPResponseStatus.internalError);

function encodeResponse(response: OCSPResponse): Buffer {
  return Buffer.from(AsnConvert.serialize(response));
}

export { OCSPResponseStatus };
