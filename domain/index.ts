// The domain's public surface: entry points (HTTP routes, the TLS listener, the CLI through HTTP) call only these.
export { type DomainDeps, type Actor, type Clock, type LifecycleMailSender } from './deps';
export { Refusal, type RefusalCode, type RefusalDetail } from './refusal';
export { createCertificateGateway, type CertificateGateway } from './certificate-gateway';
export { registerUser, validateRegistration, type Registration, type RegisteredUser } from './register-user';
export {
  importCertificate,
  listPreviousCas,
  setPreviousCaCrl,
  trustPreviousCa,
  type CertificateImport,
  type ImportedCertificate,
} from './migration-import';
export { reissue, type Reissued } from './reissue';
export { revoke } from './revoke';
export { resetEnrollmentPassword, unlockUser } from './password-reset';
export { startNewRequest } from './new-request';
export { getUser, getRequest, listCertificates, listFailedMails, requestView, type RequestView, type UserView } from './queries';
export { isProfile, isUserProfile, resolveUser, currentRequest } from './request-chain';
export { generateEnrollmentPassword, hashEnrollmentPassword, verifyEnrollmentPassword } from './enrollment-password';
export { createEnrollmentLogin, delayAfter, DEFAULT_LOGIN_THROTTLE, type LoginResult, type LoginThrottlePolicy } from './enrollment-login';
export { createKeyRetrieval, type KeyRetrieval, type PendingDownload } from './key-retrieval';
export { createCertificateDetails, subjectNamesOf, type CertificateDetails, type SubjectNames } from './certificate-details';
export { createRenewal, type Renewal } from './renewal';
export {
  createClientCertificateCheck,
  type ClientCertificateCheck,
  type CertificatePurpose,
  type PresentedCertificate,
  type CertificateRefusal,
} from './client-certificate';
export {
  addOperator,
  disableOperator,
  listOperators,
  operatorFor,
  OPERATOR_DISABLE_REASON,
  type NewOperator,
  type OperatorVerdict,
} from './operators';
export {
  searchRequests,
  listExpiringCertificates,
  listAwaitingRetrieval,
  listAuditTrail,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type SearchInput,
  type AuditTrailInput,
  type PageInput,
  type SupportRow,
  type SearchField,
} from './support-search';
export { userTimeline, portalVerdict, type ProfileTimeline, type TimelineRequest, type TimelineMail, type PortalVerdict } from './user-timeline';
export { diagnoseCertificate, parseCertificate, type Diagnosis, type DiagnosisVerdict, type DiagnosisRefusal, type Successor } from './diagnose-certificate';
export { resendFailedMail, type ResentMail } from './resend-mail';
export { verifyAuditChain, type AuditChainReport } from './audit-chain';
export { createImportGateway, type ImportGateway } from './import-gateway';
export { submitImport, getImport, registerImportLine, MAX_IMPORT_BYTES, type ImportSubmission, type ImportView, type ValidationReport, type RefusedLine } from './imports';
export { USER_IMPORT_COLUMNS, ORGANIZATIONAL_UNIT_SEPARATOR } from './import-users';
export { CERTIFICATE_IMPORT_COLUMNS } from './import-certificates';
