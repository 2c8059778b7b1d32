// The domain's use cases for registration and support; entry points (HTTP, CLI via HTTP) call only these.
export { type UseCaseDeps, type Actor, tokyoDay } from './context';
export { registerUser, type Registration, type RegisteredUser } from './register-user';
export { reissue, type Reissued } from './reissue';
export { revoke } from './revoke';
export { resetEnrollmentPassword, unlockUser } from './password-reset';
export { startNewRequest } from './new-request';
export { getUser, getRequest, listCertificates, listFailedMails, liveStatus, requestView, type RequestView, type UserView } from './queries';
export { audited, type AuditedAction } from './audit';
export { generateEnrollmentPassword, hashEnrollmentPassword, verifyEnrollmentPassword } from './enrollment-password';
