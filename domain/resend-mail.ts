// Resend a mail refused for good: once more through the mail engine's outbox, under a key of its own that retries reuse.
import { MAIL_FAILURE_TYPES, resendKeyOf, type MailKind, type OutboxMail } from '../engines/mail';
import type { IssuanceRequest, User } from '../stores';
import type { LifecycleMail } from '../workflows/definitions';
import type { Actor, DomainDeps } from './deps';
import { Refusal } from './refusal';

export interface ResentMail {
  /** The failed mail. */
  key: string;
  /** Its resend's own outbox row. */
  resendKey: string;
  kind: MailKind;
  recipient: string;
  status: 'sent' | 'failed';
  /** Why the resend was refused too. */
  reason?: string;
  resentBy: string;
}

const MAX_KEY_LENGTH = 200;
const RESEND_SUFFIX = resendKeyOf('');

/** Whose mail: an outbox key is `${workflowId}:${event}` (workflows/certificate-entity.ts), a resend adds `:resend`. */
async function ownerOf(deps: Pick<DomainDeps, 'stores'>, key: string): Promise<{ request: IssuanceRequest; user: User; event: string }> {
  const separator = key.indexOf(':');
  const workflowId = key.slice(0, separator);
  let event = key.slice(separator + 1);
  while (event.endsWith(RESEND_SUFFIX)) event = event.slice(0, -RESEND_SUFFIX.length);
  const requestId = /-(\d+)$/.exec(workflowId)?.[1];
  const request = separator > 0 && requestId ? await deps.stores.requests.find(requestId) : undefined;
  if (!request || request.workflowId !== workflowId) throw Refusal.conflict(`mail ${key} belongs to no request certflow knows`);
  const user = await deps.stores.users.find(request.userId, request.profile);
  if (!user) throw Refusal.conflict(`mail ${key}: user ${request.userId} is no longer registered for ${request.profile}`);
  return { request, user, event };
}

/** The same lifecycle mail the workflow sent, rebuilt from the request as it stands (the outbox keeps no parameters). */
async function lifecycleMailOf(deps: Pick<DomainDeps, 'ca'>, mail: OutboxMail, request: IssuanceRequest, event: string): Promise<LifecycleMail> {
  const guideExpiresAt = request.guideExpiresAt?.toISOString();
  const missing = (what: string) => Refusal.conflict(`mail ${mail.key} cannot be rebuilt: request ${request.requestId} has no ${what}`);
  switch (mail.kind) {
    case 'enrollmentPassword':
      // The mail engine destroys the sealed password once its mail is settled, refused included: it cannot be sent again.
      throw Refusal.conflict(
        `mail ${mail.key} carried an enrollment password, destroyed when the mail was refused; reset the password of request ${request.requestId} to mail a new one`,
      );
    case 'userIdNotice':
      return { kind: 'userIdNotice' };
    case 'acquisitionGuide':
    case 'reissueReady':
      if (!guideExpiresAt) throw missing('guide expiry');
      return { kind: mail.kind, guideExpiresAt };
    case 'requestExpired':
      if (!guideExpiresAt) throw missing('guide expiry');
      return { kind: 'requestExpired', expiredAt: guideExpiresAt };
    case 'renewalNotice': {
      const daysBefore = Number(/^renewal-notice-(\d+)$/.exec(event)?.[1]);
      if (!Number.isInteger(daysBefore) || !request.notBefore || !request.notAfter) throw missing('renewal notice of that name or validity');
      return { kind: 'renewalNotice', daysBefore, notBefore: request.notBefore.toISOString(), notAfter: request.notAfter.toISOString() };
    }
    case 'certificateRevoked': {
      const status = request.serial ? await deps.ca.status(request.serial) : undefined;
      if (status?.status !== 'revoked' || !status.revokedAt) throw missing('revoked certificate');
      return { kind: 'certificateRevoked', reason: status.revocationReason ?? 'unspecified', revokedAt: status.revokedAt.toISOString() };
    }
  }
}

/** The mail engine's errors that are not a refusal by the receiving server: nothing was sent, the caller may try again. */
function refusalOf(err: unknown, resendKey: string): unknown {
  const type = (err as { type?: string }).type;
  if (type === MAIL_FAILURE_TYPES.inFlight) return Refusal.conflict(`mail ${resendKey} is being sent by another call right now`);
  if (type === MAIL_FAILURE_TYPES.smtpUnavailable) return new Refusal('unavailable', `the mail server did not answer; mail ${resendKey} was not sent, try again`);
  if (type === MAIL_FAILURE_TYPES.renderError || type === MAIL_FAILURE_TYPES.keyConflict) return Refusal.conflict((err as Error).message);
  return err;
}

/**
 * Sends a failed mail once more. The resend is a new outbox row under `resendKeyOf(key)`: the refusal stays on record
 * with its SMTP answer, and a retried or concurrent call lands on the same row, which the engine sends at most once.
 */
export async function resendFailedMail(deps: Pick<DomainDeps, 'stores' | 'ca' | 'mailOutbox' | 'mailer'>, actor: Actor, key: string): Promise<ResentMail> {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) throw Refusal.invalid(`key must be 1 to ${MAX_KEY_LENGTH} characters`, 'key');
  const mail = await deps.mailOutbox.get(key);
  if (!mail) throw Refusal.notFound(`no mail ${key}`);
  if (mail.status !== 'failed') throw Refusal.conflict(`mail ${key} is ${mail.status}: only a mail refused for good (failed) can be resent`);
  const resendKey = resendKeyOf(key);
  if (resendKey.length > MAX_KEY_LENGTH) throw Refusal.conflict(`mail ${key} has been resent too often to be resent again`);
  const earlier = await deps.mailOutbox.get(resendKey);
  if (earlier?.status === 'sent') throw Refusal.conflict(`mail ${key} was resent already: ${resendKey} was sent`);
  if (earlier?.status === 'failed') throw Refusal.conflict(`mail ${key} was resent already and refused again (${earlier.lastError ?? 'refused'}); resend ${resendKey} instead`);
  // A pending resend is one that died mid-way or is in flight: the engine's claim lets exactly one attempt send it.
  const { request, user, event } = await ownerOf(deps, key);
  const lifecycleMail = await lifecycleMailOf(deps, mail, request, event);
  let status: 'sent' | 'failed';
  try {
    ({ status } = await deps.mailer.send({ key: resendKey, to: mail.recipient, user, requestId: request.requestId, mail: lifecycleMail }));
  } catch (err) {
    throw refusalOf(err, resendKey);
  }
  const reason = status === 'failed' ? ((await deps.mailOutbox.get(resendKey))?.lastError ?? 'refused') : undefined;
  return { key, resendKey, kind: mail.kind, recipient: mail.recipient, status, ...(reason ? { reason } : {}), resentBy: actor.agent };
}
