// The mail module's public surface: kinds, renderer, sealed secrets, outbox store, transport, activities, dev mailbox.
export * from './kinds';
export { createMailRenderer, type MailRenderer, type RenderedMail, type RenderContext } from './renderer';
export { MailRenderError } from './values';
export { createSealedSecrets, sealedSecretRetentionMs, SealedSecretUnavailable, type SealedSecrets, type SealedSecretsDeps } from './sealed-secrets';
export { createMailOutboxStore, resendKeyOf, type MailOutboxStore, type OutboxMail, type OutboxStatus } from './outbox-store';
export { createSmtpTransport, isPermanentRefusal, verifySmtp, type SmtpSettings } from './transport';
export { createMailActivities, MAIL_FAILURE_TYPES, type MailActivities, type MailActivitiesDeps } from './send-mail';
