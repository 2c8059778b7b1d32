// The send-mail activity: render, record in the outbox, send over SMTP once per key, however often Temporal retries it.
import crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Transporter } from 'nodemailer';
import type { MailRequest, RenderParamsByKind, SendMailResult, SupportContact } from './kinds';
import type { MailOutboxStore, OutboxMail } from './outbox-store';
import type { MailRenderer, RenderedMail } from './renderer';
import { SealedSecretUnavailable, type SealedSecrets } from './sealed-secrets';
import { bodySentWatcher, createSmtpTransport, hasRelayAnswer, isPermanentRefusal, isTransporter, type SmtpSettings } from './transport';
import { MailRenderError } from './values';
import type { CertflowMetrics } from '../../infra/metrics';

export interface MailActivitiesDeps {
  /** The outbox (createMailOutboxStore(db, clock?)): one row per key, its clock stamps the bookkeeping. */
  outbox: MailOutboxStore;
  /** Opens and wipes sealed enrollment passwords (createSealedSecrets({ db, dataKey, clock? })). */
  secrets: SealedSecrets;
  /** A nodemailer transport (the caller closes it), or SMTP settings to build a pooled one from. */
  transport: Transporter | SmtpSettings;
  renderer: MailRenderer;
  from: string;
  support: SupportContact;
  /**
   * How long a mail stays held after its attempt last showed life (renewed every third of it while the attempt
   * runs); an attempt silent for longer died, and if its body had not gone out another attempt takes the mail over.
   */
  claimLeaseMs?: number;
  /**
   * How long a mail whose body went out without the relay's answer waits before it is sent again (same Message-ID),
   * from the moment the attempt gave up or, if it died, last showed life. Default 30 minutes.
   */
  unconfirmedResendAfterMs?: number;
  /** The outbox's clock (createMailOutboxStore(db, clock)), to read its bookkeeping stamps against. */
  clock?: () => Date;
  /** Counts what this engine itself sent or saw refused; a retry that finds its mail settled counts nothing. */
  metrics?: Pick<CertflowMetrics, 'mailsSent' | 'mailsFailed' | 'mailAttemptErrors' | 'mailsUnconfirmed' | 'mailsResentUnconfirmed'>;
}

/** Failure types the workflow's retry policy may name. */
export const MAIL_FAILURE_TYPES = {
  smtpUnavailable: 'SmtpUnavailable',
  inFlight: 'MailInFlight',
  unconfirmed: 'MailUnconfirmed',
  renderError: 'MailRenderError',
  secretUnavailable: 'SealedSecretUnavailable',
  keyConflict: 'MailKeyConflict',
} as const;

const emailAddress = /^[^\s@<>()",;:\\]+@[^\s@<>()",;:\\]+\.[^\s@<>()",;:\\]+$/;

export function createMailActivities(deps: MailActivitiesDeps) {
  const { outbox, secrets, renderer, from, support, claimLeaseMs = 120_000, unconfirmedResendAfterMs = 30 * 60_000, clock = () => new Date(), metrics } = deps;
  const transport = isTransporter(deps.transport) ? deps.transport : createSmtpTransport(deps.transport);
  const watchBody = bodySentWatcher(transport);
  const messageDomain = from.split('@').pop()!.replace(/[>\s]/g, '') || 'certflow.invalid';

  /** The secret a mail carries is only needed until its mail is settled (sent or refused for good). */
  const forgetSecret = async (request: MailRequest): Promise<void> => {
    if (request.kind === 'enrollmentPassword') await secrets.wipe(request.params.enrollmentPasswordRef);
  };

  const settled = async (request: MailRequest, row: OutboxMail): Promise<SendMailResult | undefined> => {
    if (row.kind !== request.kind || row.recipient !== request.to) {
      throw ApplicationFailure.nonRetryable(
        `mail key ${request.key} already names a ${row.kind} mail to another recipient`,
        MAIL_FAILURE_TYPES.keyConflict,
      );
    }
    if (row.status === 'sent') {
      await forgetSecret(request);
      return { status: 'sent', key: row.key, messageId: row.messageId };
    }
    if (row.status === 'failed') {
      await forgetSecret(request);
      return { status: 'failed', key: row.key, reason: row.lastError ?? 'refused' };
    }
    return undefined;
  };

  const render = async (request: MailRequest): Promise<RenderedMail> => {
    const context = { service: request.service, support };
    try {
      if (request.kind === 'enrollmentPassword') {
        const enrollmentPassword = await secrets.open(request.params.enrollmentPasswordRef);
        return renderer.render('enrollmentPassword', { enrollmentPassword }, context);
      }
      return renderer.render(request.kind, request.params as RenderParamsByKind[typeof request.kind], context);
    } catch (err) {
      if (err instanceof MailRenderError) throw ApplicationFailure.nonRetryable(err.message, MAIL_FAILURE_TYPES.renderError);
      if (err instanceof SealedSecretUnavailable) {
        throw ApplicationFailure.nonRetryable(err.message, MAIL_FAILURE_TYPES.secretUnavailable);
      }
      throw err;
    }
  };

  return {
    /** Sends one mail exactly once per `key`; a permanent refusal returns `{ status: 'failed' }`, an outage throws to be retried. */
    async sendMail(request: MailRequest): Promise<SendMailResult> {
      if (!request?.key || typeof request.key !== 'string' || request.key.length > 200) {
        throw ApplicationFailure.nonRetryable('sendMail needs a key of 1..200 characters', MAIL_FAILURE_TYPES.renderError);
      }
      const existing = await outbox.get(request.key);
      const done = existing && (await settled(request, existing));
      if (done) return done;

      const mail = await render(request);
      // Derived from the key, so every attempt stamps the same Message-ID and a receiver can spot a duplicate.
      const messageId = `<${crypto.createHash('sha256').update(request.key).digest('hex').slice(0, 40)}@${messageDomain}>`;
      const newMail = { key: request.key, kind: request.kind, recipient: request.to, subject: mail.subject, messageId };

      if (!emailAddress.test(request.to)) {
        const reason = `not a deliverable address: ${request.to}`;
        await outbox.enqueue(newMail);
        await outbox.markFailed(request.key, reason);
        metrics?.mailsFailed.inc({ kind: request.kind });
        await forgetSecret(request);
        return { status: 'failed', key: request.key, reason };
      }

      // The row is written (and held by this attempt) before anything is sent; a retry finds it.
      const resending = existing?.status === 'unconfirmed';
      const claimed = existing
        ? await outbox.claim(request.key, claimLeaseMs)
        : await outbox.enqueueClaimed(newMail, claimLeaseMs);
      if (!claimed) {
        const now = (await outbox.get(request.key))!;
        const after = await settled(request, now);
        if (after) return after;
        // Every write that holds an unconfirmed row stamps updated_at with the start of its wait; an attempt still
        // waiting for the relay's answer renews it within the lease, and may yet see it confirmed: only in flight.
        const sinceHeld = clock().getTime() - now.updatedAt.getTime();
        if (now.status === 'unconfirmed' && sinceHeld >= claimLeaseMs) {
          throw unconfirmed(request.key, unconfirmedResendAfterMs - sinceHeld, now.lastError);
        }
        // Another attempt (a retry after a timeout) is still sending this very mail; sending again could duplicate it.
        throw ApplicationFailure.retryable(`mail ${request.key} is being sent by another attempt`, MAIL_FAILURE_TYPES.inFlight);
      }
      if (resending) metrics?.mailsResentUnconfirmed.inc({ kind: request.kind });

      // Once the body is out the relay may have the mail: from then on the row says so, and stays held while we wait.
      let bodySent = false;
      let bookkeeping: Promise<void> = Promise.resolve();
      const note = (write: () => Promise<void>) => {
        bookkeeping = bookkeeping.then(write).catch(() => undefined);
      };
      const unwatch = watchBody(messageId, () => {
        bodySent = true;
        note(() => outbox.markUnconfirmed(request.key, unconfirmedResendAfterMs));
      });
      const renewal = setInterval(
        () => note(() => outbox.renew(request.key, bodySent ? unconfirmedResendAfterMs : claimLeaseMs)),
        Math.min(claimLeaseMs, unconfirmedResendAfterMs) / 3,
      );
      renewal.unref();
      const attemptDone = async () => {
        clearInterval(renewal);
        unwatch();
        await bookkeeping;
      };
      try {
        const info = await transport.sendMail({
          from,
          to: request.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId,
        });
        await attemptDone();
        metrics?.mailsSent.inc({ kind: request.kind });
        await outbox.markSent(request.key, String(info.response ?? ''));
        await forgetSecret(request);
        return { status: 'sent', key: request.key, messageId };
      } catch (err) {
        await attemptDone();
        const reason = smtpReason(err);
        if (isPermanentRefusal(err)) {
          await outbox.markFailed(request.key, reason);
          metrics?.mailsFailed.inc({ kind: request.kind });
          await forgetSecret(request);
          return { status: 'failed', key: request.key, reason };
        }
        if (bodySent && !hasRelayAnswer(err)) {
          // The relay has the whole message and said nothing: it may deliver it. Not again before the wait is over.
          const lastError = `no answer after the body: ${reason}`;
          await outbox.markUnconfirmed(request.key, unconfirmedResendAfterMs, lastError);
          metrics?.mailsUnconfirmed.inc({ kind: request.kind });
          throw unconfirmed(request.key, unconfirmedResendAfterMs, lastError);
        }
        // Refused with a 4xx, or cut off before the body ended: the relay did not take it, so the next attempt may send.
        await outbox.release(request.key, reason);
        metrics?.mailAttemptErrors.inc({ kind: request.kind });
        throw ApplicationFailure.retryable(`SMTP unavailable for ${request.key}: ${reason}`, MAIL_FAILURE_TYPES.smtpUnavailable);
      }
    },
  };
}

/** Retryable, but not before the unconfirmed mail's wait is over (Temporal's next attempt is scheduled then). */
function unconfirmed(key: string, remainingMs: number, lastError: string | null): ApplicationFailure {
  const waitMs = Math.max(1000, remainingMs);
  return ApplicationFailure.create({
    message: `mail ${key} went out without the relay's answer (${lastError ?? 'awaiting it'}); not sent again before ${new Date(Date.now() + waitMs).toISOString()}`,
    type: MAIL_FAILURE_TYPES.unconfirmed,
    nonRetryable: false,
    nextRetryDelay: waitMs,
  });
}

export type MailActivities = ReturnType<typeof createMailActivities>;

function smtpReason(err: unknown): string {
  const e = err as { code?: string; response?: string; message?: string };
  return [e?.code, e?.response ?? e?.message].filter(Boolean).join(' ').slice(0, 1000);
}
