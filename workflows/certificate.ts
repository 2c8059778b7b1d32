// One workflow per certificate request; the main body reads as the state diagram in shared/SPEC.md.
import {
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  log,
  condition,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  CertNotAfter,
  CertProfile,
  CertRequestId,
  CertStatus,
  CertUserId,
  certificateWorkflowId,
  downloadConfirmedSignal,
  reissueUpdate,
  requestRenewalUpdate,
  retrieveKeyUpdate,
  revokeUpdate,
  statusQuery,
  type CertificateState,
  type CertificateStatus,
  type CertificateWorkflowInput,
  type CertificateActivities,
  type LifecycleMail,
  type RequestSnapshot,
  type RequestKind,
  type RevocationReason,
  type SuccessorResult,
} from './definitions';
import { addDays, addYears, endOfDayInTokyo, refusalReason } from './time-rules';

const { issueCertificate, activateCertificate, destroyKey, revokeCertificate, recordRequest } = proxyActivities<CertificateActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});
// Mail waits out an SMTP outage: retried with backoff for as long as a day.
const { sendLifecycleMails } = proxyActivities<CertificateActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

/** The certificate's state, mutated by handlers and read by the main body. */
class Certificate {
  state: CertificateState = 'awaitingKeyRetrieval';
  /** An update is running an activity; other updates wait for it to finish rather than interleave. */
  busy = false;
  downloaded = false;
  issuanceAttempt = 0;
  guideExpiresAt: number;
  downloadDeadline?: number;
  serial?: string;
  notBefore?: number;
  notAfter?: number;
  revocationReason?: RevocationReason;
  successorWorkflowId?: string;
  successorRequestId?: string;
  renewalNoticesSent: number[] = [];

  constructor(readonly input: CertificateWorkflowInput) {
    this.guideExpiresAt = addDays(Date.now(), input.policy.guideValidityDays);
  }

  get holdsIssuedCertificate(): boolean {
    return this.serial !== undefined && ['keyReady', 'active', 'renewed'].includes(this.state);
  }

  status(): CertificateStatus {
    const iso = (t?: number) => (t === undefined ? undefined : new Date(t).toISOString());
    return {
      requestId: this.input.requestId,
      profile: this.input.profile,
      userId: this.input.userId,
      kind: this.input.kind,
      state: this.state,
      guideExpiresAt: new Date(this.guideExpiresAt).toISOString(),
      downloadDeadline: this.state === 'keyReady' ? iso(this.downloadDeadline) : undefined,
      serial: this.serial,
      notBefore: iso(this.notBefore),
      notAfter: iso(this.notAfter),
      revocationReason: this.revocationReason,
      predecessorWorkflowId: this.input.predecessorWorkflowId,
      successorWorkflowId: this.successorWorkflowId,
      renewalNoticesSent: [...this.renewalNoticesSent],
      refusalReason: refusalReason(this.state, Date.now(), this.notAfter, this.revocationReason),
    };
  }
}

export async function certificateWorkflow(input: CertificateWorkflowInput): Promise<CertificateStatus> {
  const cert = new Certificate(input);
  const workflowId = workflowInfo().workflowId;
  const mailKey = (event: string) => `${workflowId}:${event}`;

  function upsertStatusAttributes(): void {
    upsertSearchAttributes([
      { key: CertStatus, value: cert.state },
      { key: CertProfile, value: input.profile },
      { key: CertUserId, value: input.userId },
      { key: CertRequestId, value: input.requestId },
      ...(cert.notAfter !== undefined ? [{ key: CertNotAfter, value: new Date(cert.notAfter) }] : []),
    ]);
  }

  function snapshot(): RequestSnapshot {
    const s = cert.status();
    return {
      requestId: input.requestId,
      state: s.state,
      serial: s.serial,
      notBefore: s.notBefore,
      notAfter: s.notAfter,
      guideExpiresAt: s.guideExpiresAt,
      downloadDeadline: s.downloadDeadline,
      revocationReason: s.revocationReason,
      successorRequestId: cert.successorRequestId,
    };
  }

  /** A transition: search attributes for the Web UI, the projection for lists and the CRL. */
  async function record(): Promise<void> {
    upsertStatusAttributes();
    await recordRequest(snapshot());
  }

  // Mails go out in order but never hold up the lifecycle: an SMTP outage must not delay a download or an expiry.
  // Mails of one event travel in one activity; each is still delivered once by its own key.
  let mailQueue: Promise<void> = Promise.resolve();
  type EventMail = readonly [event: string, message: LifecycleMail];
  function mail(...messages: EventMail[]): void {
    if (messages.length === 0) return;
    const mails = messages.map(([event, message]) => ({ key: mailKey(event), mail: message }));
    mailQueue = mailQueue.then(() =>
      sendLifecycleMails({ requestId: input.requestId, mails }).then(
        () => undefined,
        (err) => log.error('mail could not be sent', { keys: mails.map((m) => m.key), error: (err as Error).message }),
      ),
    );
  }

  /** Runs one update at a time; a state check that fails after waiting rejects the update, not the workflow. */
  async function exclusively<T>(recheck: () => void, operation: () => Promise<T>): Promise<T> {
    await condition(() => !cert.busy);
    try {
      recheck();
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'WrongState');
    }
    cert.busy = true;
    try {
      return await operation();
    } finally {
      cert.busy = false;
    }
  }

  async function startSuccessor(successorRequestId: string, kind: RequestKind): Promise<SuccessorResult> {
    const successorId = certificateWorkflowId(input.profile, successorRequestId);
    await startChild(certificateWorkflow, {
      workflowId: successorId,
      args: [{ requestId: successorRequestId, profile: input.profile, userId: input.userId, kind, policy: input.policy, predecessorWorkflowId: workflowId }],
      // The successor outlives this request: a renewed certificate ends at its notAfter, a reissued one at once.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: CertStatus, value: 'awaitingKeyRetrieval' },
        { key: CertProfile, value: input.profile },
        { key: CertUserId, value: input.userId },
        { key: CertRequestId, value: successorRequestId },
      ],
    });
    cert.successorWorkflowId = successorId;
    cert.successorRequestId = successorRequestId;
    return { requestId: successorRequestId, workflowId: successorId };
  }

  /** Revokes whatever certificate this request holds and destroys a key still waiting for download. */
  async function withdrawIssuedCertificate(reason: RevocationReason): Promise<void> {
    if (cert.state === 'keyReady') await destroyKey({ requestId: input.requestId, issuanceAttempt: cert.issuanceAttempt });
    if (cert.holdsIssuedCertificate) await revokeCertificate({ serial: cert.serial!, reason, revokedAt: new Date().toISOString() });
  }

  setHandler(statusQuery, () => cert.status());

  setHandler(downloadConfirmedSignal, () => {
    if (cert.state === 'keyReady') cert.downloaded = true;
  });

  setHandler(
    retrieveKeyUpdate,
    () =>
      exclusively(() => assertRetrievable(cert), async () => {
        if (cert.state === 'keyReady') return keyRetrievalResult(cert);
        const now = Date.now();
        cert.issuanceAttempt += 1;
        // The activity also records the key-ready projection: one round trip for the step users wait on.
        const issued = await issueCertificate({
          requestId: input.requestId,
          issuanceAttempt: cert.issuanceAttempt,
          notBefore: new Date(now).toISOString(),
          notAfter: new Date(addYears(now, input.policy.validityYears)).toISOString(),
          downloadDeadline: new Date(endOfDayInTokyo(now)).toISOString(),
          guideExpiresAt: new Date(cert.guideExpiresAt).toISOString(),
        });
        cert.serial = issued.serial;
        cert.notBefore = Date.parse(issued.notBefore);
        cert.notAfter = Date.parse(issued.notAfter);
        cert.downloadDeadline = endOfDayInTokyo(now);
        cert.downloaded = false;
        cert.state = 'keyReady';
        upsertStatusAttributes();
        return keyRetrievalResult(cert);
      }),
    { validator: () => assertRetrievable(cert) },
  );

  setHandler(
    requestRenewalUpdate,
    ({ successorRequestId }) =>
      exclusively(() => assertRenewable(cert, input.policy.renewalNoticeDays), async () => {
        const successor = await startSuccessor(successorRequestId, 'renewal');
        cert.state = 'renewed';
        await record();
        return successor;
      }),
    { validator: (_request) => assertRenewable(cert, input.policy.renewalNoticeDays) },
  );

  setHandler(
    reissueUpdate,
    ({ successorRequestId }) =>
      exclusively(() => assertReissuable(cert), async () => {
        await withdrawIssuedCertificate('superseded');
        const successor = await startSuccessor(successorRequestId, 'reissue');
        cert.state = 'revoked';
        cert.revocationReason = 'superseded';
        await record();
        return successor;
      }),
    { validator: (_request) => assertReissuable(cert) },
  );

  setHandler(
    revokeUpdate,
    ({ reason }) =>
      exclusively(() => assertRevocable(cert), async () => {
        const hadCertificate = cert.holdsIssuedCertificate;
        await withdrawIssuedCertificate(reason);
        cert.state = 'revoked';
        cert.revocationReason = reason;
        await record();
        if (hadCertificate) mail(['revoked', { kind: 'certificateRevoked', reason, revokedAt: new Date().toISOString() }]);
        return cert.status();
      }),
    { validator: (_request) => assertRevocable(cert) },
  );

  // registered ─► guide mails sent ─► awaiting key retrieval
  await record();
  const guideExpiresAt = new Date(cert.guideExpiresAt).toISOString();
  const guideMails: EventMail[] = [];
  if (input.notifyIdAdministrator) guideMails.push(['user-id-notice', { kind: 'userIdNotice' }]);
  if (input.enrollmentPasswordRef) guideMails.push(['enrollment-password', { kind: 'enrollmentPassword', passwordRef: input.enrollmentPasswordRef }]);
  if (input.kind === 'reissue') guideMails.push(['reissue-ready', { kind: 'reissueReady', guideExpiresAt }]);
  if (input.kind !== 'renewal') guideMails.push(['acquisition-guide', { kind: 'acquisitionGuide', guideExpiresAt }]);
  mail(...guideMails);

  // awaiting key retrieval ⇄ key ready, until downloaded, revoked or the guide's 30 days pass
  while (cert.state === 'awaitingKeyRetrieval' || cert.state === 'keyReady') {
    if (cert.state === 'awaitingKeyRetrieval') {
      await waitUntil(() => cert.state !== 'awaitingKeyRetrieval' || cert.busy, cert.guideExpiresAt);
      await condition(() => !cert.busy);
      if (cert.state === 'awaitingKeyRetrieval' && Date.now() >= cert.guideExpiresAt) {
        cert.state = 'requestExpired';
        await record();
        mail(['request-expired', { kind: 'requestExpired', expiredAt: new Date(cert.guideExpiresAt).toISOString() }]);
      }
      continue;
    }
    await waitUntil(() => cert.downloaded || cert.state !== 'keyReady', cert.downloadDeadline!);
    await condition(() => !cert.busy);
    if (cert.state !== 'keyReady') continue;
    if (cert.downloaded) {
      // key ready ─► active: the key leaves certflow with the download and is destroyed here.
      cert.state = 'active';
      await activateCertificate({ issuanceAttempt: cert.issuanceAttempt, snapshot: snapshot() });
      upsertStatusAttributes();
    } else {
      // Not downloaded the same day: the undelivered certificate is withdrawn and the request waits again.
      await withdrawIssuedCertificate('cessationOfOperation');
      cert.serial = cert.notBefore = cert.notAfter = cert.downloadDeadline = undefined;
      cert.state = 'awaitingKeyRetrieval';
      await record();
    }
  }

  // active ──T-30──► notice ──T-7──► notice ──T-0──► expired (no notice once renewed or revoked)
  if (cert.state === 'active') {
    for (const daysBefore of [...input.policy.renewalNoticeDays].sort((a, b) => b - a)) {
      const noticeAt = addDays(cert.notAfter!, -daysBefore);
      if (Date.now() >= noticeAt) continue;
      await waitUntil(() => cert.state !== 'active', noticeAt);
      await condition(() => !cert.busy);
      if (cert.state !== 'active') break;
      mail([
        `renewal-notice-${daysBefore}`,
        {
          kind: 'renewalNotice',
          daysBefore,
          notBefore: new Date(cert.notBefore!).toISOString(),
          notAfter: new Date(cert.notAfter!).toISOString(),
        },
      ]);
      cert.renewalNoticesSent.push(daysBefore);
    }
  }
  if (cert.state === 'active' || cert.state === 'renewed') {
    await waitUntil(() => cert.state === 'revoked', cert.notAfter!);
    await condition(() => !cert.busy);
    // A revoke handler may have run during the wait; TypeScript's narrowing cannot see that.
    if ((cert.state as CertificateState) !== 'revoked') {
      cert.state = 'expired';
      await record();
    }
  }

  await condition(allHandlersFinished);
  await mailQueue;
  return cert.status();
}

async function waitUntil(predicate: () => boolean, deadline: number): Promise<boolean> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) return predicate();
  return condition(predicate, remaining);
}

function keyRetrievalResult(cert: Certificate) {
  return {
    serial: cert.serial!,
    notBefore: new Date(cert.notBefore!).toISOString(),
    notAfter: new Date(cert.notAfter!).toISOString(),
    downloadDeadline: new Date(cert.downloadDeadline!).toISOString(),
  };
}

function stateReason(cert: Certificate, action: string): string {
  return `${action} is not possible: the request is ${cert.state}`;
}

function assertRetrievable(cert: Certificate): void {
  if (cert.state === 'keyReady') return;
  if (cert.state !== 'awaitingKeyRetrieval') throw new Error(stateReason(cert, 'key retrieval'));
  if (Date.now() >= cert.guideExpiresAt) throw new Error('the request expired: its guide mail was valid for 30 days');
}

function assertRenewable(cert: Certificate, noticeDays: number[]): void {
  if (cert.state === 'renewed') throw new Error(`already renewed: the successor is ${cert.successorWorkflowId}`);
  if (cert.state !== 'active') throw new Error(stateReason(cert, 'renewal'));
  const opensAt = addDays(cert.notAfter!, -Math.max(...noticeDays));
  if (Date.now() < opensAt) throw new Error(`renewal opens on ${new Date(opensAt).toISOString()}, ${Math.max(...noticeDays)} days before expiry`);
  if (Date.now() >= cert.notAfter!) throw new Error('the certificate has expired');
}

function assertReissuable(cert: Certificate): void {
  if (!['awaitingKeyRetrieval', 'keyReady', 'active', 'renewed'].includes(cert.state)) {
    throw new Error(`${stateReason(cert, 'reissue')}; start a new request instead`);
  }
}

function assertRevocable(cert: Certificate): void {
  if (['revoked', 'expired', 'requestExpired'].includes(cert.state)) throw new Error(stateReason(cert, 'revocation'));
}
