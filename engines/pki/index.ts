// The PKI engine's public surface.
export { createCertificateAuthority } from './service';
export { crlUrlOf } from './service';
export type { CaGeneration, CertificateAuthority, CertificateAuthorityDeps, IssueRequest, IssuedCertificateSummary, CertificateStatusReport } from './service';
export { createPkiStore } from './store';
export { createPreviousCas, normalizeSerial } from './previous-cas';
export type { PreviousCas, PreviousCa, PreviousCaCertificate, PreviousCaProblem } from './previous-cas';
export { OCSP_MALFORMED_REQUEST, OCSP_INTERNAL_ERROR } from './ocsp';
export type { PkiStore, IssuedCertificate, StoredCa, StoredCrl, RevokedEntry, StoredOcspResponder, PooledKey } from './store';
export { createKeyPool } from './key-pool';
export type { KeyPool, KeyPoolOptions } from './key-pool';
export { buildProfiles, lifecyclePolicy, KEY_ALGORITHMS } from './profiles';
export type { CertificateProfile, KeyAlgorithm, CaKeyAlgorithm, Pkcs12Encryption, ProfileSettings, ProfileOverrides } from './profiles';
export { validatePkcs12Password, validateSubject, PKCS12_PASSWORD_MESSAGES_JA, PKCS12_PASSWORD_MIN_LENGTH, SUBJECT_NAME, EMAIL_ADDRESS, MAX_EMAIL_LENGTH } from './subject';
export type { SubjectInput } from './subject';
export { PkiError, SubjectValidationError, Pkcs12PasswordError, CaUnavailableError } from './errors';
export type { PkiErrorCode, Pkcs12PasswordProblem } from './errors';
