// The PKI engine's public surface.
export { createCertificateAuthority } from './service';
export type { CertificateAuthority, CertificateAuthorityDeps, IssueRequest, IssuedCertificateSummary, CertificateStatusReport } from './service';
export { createPkiStore } from './store';
export type { PkiStore, IssuedCertificate, StoredCa, StoredCrl, RevokedEntry, PooledKey } from './store';
export { createKeyPool } from './key-pool';
export type { KeyPool, KeyPoolOptions } from './key-pool';
export { buildProfiles, lifecyclePolicy, KEY_ALGORITHMS } from './profiles';
export type { CertificateProfile, KeyAlgorithm, CaKeyAlgorithm, Pkcs12Encryption, ProfileSettings, ProfileOverrides } from './profiles';
export { validatePkcs12Password, validateSubject, PKCS12_PASSWORD_MESSAGES_JA, PKCS12_PASSWORD_MIN_LENGTH } from './subject';
export type { SubjectInput } from './subject';
export { PkiError, SubjectValidationError, Pkcs12PasswordError, CaUnavailableError } from './errors';
export type { PkiErrorCode, Pkcs12PasswordProblem } from './errors';
