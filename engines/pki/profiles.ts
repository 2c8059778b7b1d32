// The certificate profiles (one CA each) as typed settings; pure data, so workflow code may import it too.
import type { LifecyclePolicy, Profile } from '../../workflows/definitions';

/** Key algorithms offered for issued (end-user) keys. */
export const KEY_ALGORITHMS = ['rsa-2048', 'rsa-3072', 'ecdsa-p256'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** CA keys are RSA so every issued certificate and CRL carries sha256WithRSAEncryption, which every consumer accepts. */
export type CaKeyAlgorithm = 'rsa-2048' | 'rsa-3072' | 'rsa-4096';

/**
 * modern: AES-256-CBC, PBKDF2-HMAC-SHA256 and a SHA-256 MAC (Windows 10 1709+, OpenSSL 1.1+, NSS);
 * legacy: pbeWithSHAAnd3-KeyTripleDES-CBC and a SHA-1 MAC, for older Windows.
 */
export type Pkcs12Encryption = 'modern' | 'legacy';

export interface CertificateProfile {
  name: Profile;
  /** Service name as users know it, e.g. 団信ネット（3社共用）. */
  serviceName: string;
  /** Prefix of every mail subject, e.g. 【団信ネット（3社共用）】. */
  mailSubjectPrefix: string;
  caCommonName: string;
  caOrganization: string;
  caCountry: string;
  caKeyAlgorithm: CaKeyAlgorithm;
  caValidityYears: number;
  keyAlgorithm: KeyAlgorithm;
  validityYears: number;
  renewalNoticeDays: number[];
  guideValidityDays: number;
  /** Where relying parties fetch this CA's CRL; written into every certificate's CRL distribution point. */
  crlUrl: string;
  /** thisUpdate → nextUpdate; the CRL is re-signed once half of it has passed. */
  crlValidityDays: number;
  /** This CA's OCSP responder (GET and POST); written into every certificate's Authority Information Access. */
  ocspUrl: string;
  /** thisUpdate → nextUpdate of an OCSP answer: how long a relying party that caches answers may hold one. */
  ocspResponseValidityMinutes: number;
  /** Validity of the delegated OCSP-signing certificate; the CA issues a new one once half of it has passed. */
  ocspSignerValidityDays: number;
  pkcs12Encryption: Pkcs12Encryption;
  /** PBKDF2 / PKCS#12 KDF iterations, as OpenSSL's default. */
  pkcs12Iterations: number;
}

export type ProfileOverrides = Partial<Omit<CertificateProfile, 'name' | 'crlUrl' | 'ocspUrl'>>;

export interface ProfileSettings {
  /** Public base URL of certflow (config.publicUrl), without a trailing slash. */
  publicUrl: string;
  overrides?: Partial<Record<Profile, ProfileOverrides>>;
}

const shared = {
  caOrganization: 'Nissay Information Technology Co., Ltd.',
  caCountry: 'JP',
  caKeyAlgorithm: 'rsa-3072',
  caValidityYears: 20,
  keyAlgorithm: 'rsa-2048',
  validityYears: 3,
  renewalNoticeDays: [30, 7],
  guideValidityDays: 30,
  crlValidityDays: 7,
  ocspResponseValidityMinutes: 10,
  ocspSignerValidityDays: 30,
  pkcs12Encryption: 'modern',
  pkcs12Iterations: 2048,
} as const satisfies Partial<CertificateProfile>;

export function buildProfiles({ publicUrl, overrides = {} }: ProfileSettings): Record<Profile, CertificateProfile> {
  const base = publicUrl.replace(/\/+$/, '');
  const make = (name: Profile, own: Pick<CertificateProfile, 'serviceName' | 'mailSubjectPrefix' | 'caCommonName'>) => ({
    ...shared,
    renewalNoticeDays: [...shared.renewalNoticeDays],
    ...own,
    ...overrides[name],
    name,
    crlUrl: `${base}/crl/${name}.crl`,
    ocspUrl: `${base}/ocsp/${name}`,
  });
  return {
    kdanshinnet: make('kdanshinnet', {
      serviceName: '団信ネット（3社共用）',
      mailSubjectPrefix: '【団信ネット（3社共用）】',
      caCommonName: 'Nissay Information Technology KDanshinnet CA',
    }),
    nissay: make('nissay', {
      serviceName: '団信ネット（日本生命）',
      mailSubjectPrefix: '【団信ネット（日本生命）】',
      caCommonName: 'Nissay Information Technology Danshinnet Nissay CA',
    }),
    operators: make('operators', {
      serviceName: 'certflow 運用コンソール',
      mailSubjectPrefix: '【certflow 運用コンソール】',
      caCommonName: 'Nissay Information Technology certflow Operators CA',
    }),
  };
}

/** The timing rules a new workflow is started with, from its profile (fixed into the workflow's input). */
export function lifecyclePolicy(profile: CertificateProfile): LifecyclePolicy {
  return {
    validityYears: profile.validityYears,
    renewalNoticeDays: [...profile.renewalNoticeDays],
    guideValidityDays: profile.guideValidityDays,
  };
}
