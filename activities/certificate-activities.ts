// Activities of the certificate workflow: signing, key destruction, revocation, mail and the database projection.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { SubjectInput } from '../engines/pki';
import type { CertificateActivities, IssuanceOrder, LifecycleMail, Profile, RequestSnapshot, RevocationReason } from '../workflows/definitions';
import type { RequestStore, User, UserStore } from '../stores';

/** What the workflow asks of the CA (implemented by activities/pki). */
export interface IssuingAuthority {
  issue(request: SubjectInput & { issuanceKey: string; requestId: string; profile: Profile; notBefore: Date; notAfter: Date }): Promise<{
    serial: string;
    notBefore: Date;
    notAfter: Date;
  }>;
  destroyKey(issuanceKey: string): Promise<void>;
  revoke(request: { serial: string; reason: RevocationReason; revokedAt: Date }): Promise<unknown>;
}

/** What the workflow asks of the mail system (implemented by activities/mail): one delivery per key. */
export interface LifecycleMailer {
  send(delivery: { key: string; to: string; user: User; requestId: string; mail: LifecycleMail }): Promise<{ status: 'sent' | 'failed' }>;
}

export interface CertificateActivityDeps {
  requests: RequestStore;
  users: Pick<UserStore, 'find'>;
  ca: IssuingAuthority;
  mailer: LifecycleMailer;
}

/** The issuance of a request's n-th key retrieval: a lapsed download is followed by a fresh certificate. */
export function issuanceKey(requestId: string, issuanceAttempt: number): string {
  return issuanceAttempt === 1 ? requestId : `${requestId}.${issuanceAttempt}`;
}

/** Errors the CA marks permanent (bad subject, destroyed key…) must not be retried by Temporal. */
async function nonRetryableIfPermanent<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    const e = err as Error & { permanent?: boolean; code?: string };
    if (e.permanent) throw ApplicationFailure.nonRetryable(e.message, e.code ?? e.name);
    throw err;
  }
}

/**
 * Heartbeats while `work` runs: a slow relay may hold one mail for minutes, and the heartbeat lets Temporal tell
 * such an attempt from a dead worker's (the workflow's heartbeat timeout) without a short start-to-close timeout.
 */
async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  let context: Context | undefined;
  try {
    context = Context.current();
  } catch {
    return work(); // called outside an activity (a direct call in a test): nothing to tell
  }
  const activity = context;
  activity.heartbeat();
  const beat = setInterval(() => activity.heartbeat(), 10_000);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

export function createCertificateActivities({ requests, users, ca, mailer }: CertificateActivityDeps): CertificateActivities {

  async function requestOwner(requestId: string): Promise<User> {
    const request = await requests.find(requestId);
    if (!request) throw ApplicationFailure.nonRetryable(`unknown request ${requestId}`, 'UnknownRequest');
    const user = await users.find(request.userId, request.profile);
    if (!user) throw ApplicationFailure.nonRetryable(`request ${requestId} has no registered user`, 'UnknownUser');
    return user;
  }

  return {
    async recordRequest(snapshot: RequestSnapshot): Promise<void> {
      await requests.applySnapshot(snapshot, new Date());
    },

    /** Issues (or finds) the certificate of this attempt and records the request as key-ready. */
    async issueCertificate(input: IssuanceOrder) {
      const user = await requestOwner(input.requestId);
      const issued = await nonRetryableIfPermanent(() => ca.issue({
        issuanceKey: issuanceKey(input.requestId, input.issuanceAttempt),
        requestId: input.requestId,
        profile: user.profile,
        userId: user.userId,
        organizationalUnits: user.organizationalUnits,
        organization: user.organization,
        country: 'JP',
        email: user.email,
        subscriberId: user.subscriberId,
        notBefore: new Date(input.notBefore),
        notAfter: new Date(input.notAfter),
      }));
      const result = { serial: issued.serial, notBefore: issued.notBefore.toISOString(), notAfter: issued.notAfter.toISOString() };
      await requests.applySnapshot(
        { requestId: input.requestId, state: 'keyReady', ...result, guideExpiresAt: input.guideExpiresAt, downloadDeadline: input.downloadDeadline },
        new Date(),
      );
      return result;
    },

    /** The download is confirmed: the key is destroyed and the request recorded as active. */
    async activateCertificate(input: { issuanceAttempt: number; snapshot: RequestSnapshot }): Promise<void> {
      await nonRetryableIfPermanent(() => ca.destroyKey(issuanceKey(input.snapshot.requestId, input.issuanceAttempt)));
      await requests.applySnapshot(input.snapshot, new Date());
    },

    async destroyKey(input: { requestId: string; issuanceAttempt: number }): Promise<void> {
      await nonRetryableIfPermanent(() => ca.destroyKey(issuanceKey(input.requestId, input.issuanceAttempt)));
    },

    async revokeCertificate(input: { serial: string; reason: RevocationReason; revokedAt: string }): Promise<void> {
      await nonRetryableIfPermanent(() => ca.revoke({ serial: input.serial, reason: input.reason, revokedAt: new Date(input.revokedAt) }));
    },

    /** Sends the mails of one event in order; a retry skips those already delivered (each has its own key). */
    async sendLifecycleMails(input: { requestId: string; mails: Array<{ key: string; mail: LifecycleMail }> }) {
      return withHeartbeat(async () => {
        const user = await requestOwner(input.requestId);
        const results: Array<{ key: string; status: 'sent' | 'failed' }> = [];
        for (const { key, mail } of input.mails) {
          const to = mail.kind === 'userIdNotice' ? user.idAdminEmail : user.email;
          const { status } = await mailer.send({ key, to, user, requestId: input.requestId, mail });
          results.push({ key, status });
        }
        return results;
      });
    },
  };
}

export type { CertificateActivities };
