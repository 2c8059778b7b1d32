// The certificate request as an entity: its state, the steps of its lifecycle and what its updates do.
// certificateWorkflow (certificate.ts) wires messages to these methods and walks the state diagram with them.
import {
  ApplicationFailure,
  ParentClosePolicy,
  condition,
  log,
  patched,
  proxyActivities,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  ACTION_NAMES,
  CERTIFICATE_WORKFLOW_TYPE,
  STATE_RULES,
  certificateSearchAttributes,
  certificateWorkflowId,
  type CertificateAction,
  type CertificateActivities,
  type CertificateState,
  type CertificateWorkflow,
  type CertificateStatus,
  type CertificateWorkflowInput,
  initialState,
  mailTaskQueue,
  type KeyRetrievalResult,
  type LifecycleMail,
  type RequestKind,
  type RequestSnapshot,
  type RevocationReason,
  type StateRefusalCode,
  type SuccessorResult,
} from './definitions';
import { addDays, addYears, endOfDayInTokyo, refusalReason, renewalOpensAt, renewalWindowDays } from './time-rules';

const { issueCertificate, activateCertificate, destroyKey, revokeCertificate, recordRequest } = proxyActivities<CertificateActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});
// Mail waits out an SMTP outage: retried with backoff for as long as a day. A slow relay may take the SMTP reply
// timeout (10 min) per mail, so an attempt may run long; its heartbeat, not its length, tells a dead worker.
const MAIL_ACTIVITY_OPTIONS = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
} as const;
const { sendLifecycleMails: sendOnWorkflowQueue } = proxyActivities<CertificateActivities>(MAIL_ACTIVITY_OPTIONS);
/** Histories recorded before it scheduled mail on the workflow's own queue; after it, on the rate-limited mail queue. */
const MAIL_TASK_QUEUE_PATCH = 'mail-task-queue';

/** The mail activity on the mail queue, whose dispatch rate the server holds to CERTFLOW_MAIL_MAX_PER_SECOND. */
function sendLifecycleMails(input: Parameters<CertificateActivities['sendLifecycleMails']>[0]) {
  // Asked at each mail, not once: a workflow started before the patch sends its later mails on the mail queue too.
  if (!patched(MAIL_TASK_QUEUE_PATCH)) return sendOnWorkflowQueue(input);
  const { sendLifecycleMails: send } = proxyActivities<CertificateActivities>({ ...MAIL_ACTIVITY_OPTIONS, taskQueue: mailTaskQueue(workflowInfo().taskQueue) });
  return send(input);
}

export type EventMail = readonly [event: string, message: LifecycleMail];

/** The certificate's state, mutated by update handlers and read by the workflow's main body. */
export class Certificate {
  state: CertificateState;
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
  readonly workflowId: string;
  // Mails go out in order but never hold up the lifecycle: an SMTP outage must not delay a download or an expiry.
  private mailQueue: Promise<void> = Promise.resolve();

  constructor(readonly input: CertificateWorkflowInput) {
    this.guideExpiresAt = addDays(Date.now(), input.policy.guideValidityDays);
    this.workflowId = workflowInfo().workflowId;
    this.state = initialState(input);
    if (input.imported) {
      this.serial = input.imported.serial;
      this.notBefore = Date.parse(input.imported.notBefore);
      this.notAfter = Date.parse(input.imported.notAfter);
    }
  }

  // ── What the request is ──

  /** A certificate signed for this request may still be valid: withdrawing the request must revoke it. */
  get holdsIssuedCertificate(): boolean {
    return this.serial !== undefined && STATE_RULES[this.state].holdsCertificate;
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

  snapshot(): RequestSnapshot {
    const s = this.status();
    return {
      requestId: this.input.requestId,
      state: s.state,
      serial: s.serial,
      notBefore: s.notBefore,
      notAfter: s.notAfter,
      guideExpiresAt: s.guideExpiresAt,
      downloadDeadline: s.downloadDeadline,
      revocationReason: s.revocationReason,
      successorRequestId: this.successorRequestId,
    };
  }

  // ── Recording and mail ──

  /** A transition: search attributes for the Web UI, the projection for lists and the CRL. */
  async record(): Promise<void> {
    this.upsertStatusAttributes();
    await recordRequest(this.snapshot());
  }

  private upsertStatusAttributes(): void {
    const { profile, userId, requestId } = this.input;
    upsertSearchAttributes(certificateSearchAttributes({ profile, userId, requestId, state: this.state, notAfter: this.notAfter }));
  }

  /** Queues the mails of one event; they travel in one activity, each delivered once by its own key. */
  mail(...messages: EventMail[]): void {
    if (messages.length === 0) return;
    const mails = messages.map(([event, message]) => ({ key: `${this.workflowId}:${event}`, mail: message }));
    this.mailQueue = this.mailQueue.then(() =>
      sendLifecycleMails({ requestId: this.input.requestId, mails }).then(
        () => undefined,
        (err) => log.error('mail could not be sent', { keys: mails.map((m) => m.key), error: (err as Error).message }),
      ),
    );
  }

  /** Resolves once every queued mail has been handed over (or given up on). */
  async mailSent(): Promise<void> {
    await this.mailQueue;
  }

  // ── Updates: checked against the state table, run one at a time ──

  /** Refuses an action this state (or the calendar) does not allow, with the refusal code as the failure's type. */
  assertAllowed(action: CertificateAction): void {
    const code = STATE_RULES[this.state].refuses[action];
    if (code !== undefined) throw refusal(code, this.refusalMessage(action));
    // The calendar's rules: a guide mail's 30 days (a key already waiting may still be fetched), the renewal window.
    if (action === 'retrieveKey' && this.state === 'awaitingKeyRetrieval' && Date.now() >= this.guideExpiresAt) {
      throw refusal('requestExpired', 'the request expired: its guide mail was valid for 30 days');
    }
    if (action === 'renew') {
      const opensAt = renewalOpensAt(this.notAfter!, this.input.policy);
      if (Date.now() < opensAt) {
        throw refusal('renewalNotOpen', `renewal opens on ${new Date(opensAt).toISOString()}, ${renewalWindowDays(this.input.policy)} days before expiry`);
      }
      if (Date.now() >= this.notAfter!) throw refusal('certificateExpired', 'the certificate has expired');
    }
  }

  private refusalMessage(action: CertificateAction): string {
    if (action === 'renew' && this.state === 'renewed') return `already renewed: the successor is ${this.successorWorkflowId}`;
    const reason = `${ACTION_NAMES[action]} is not possible: the request is ${this.state}`;
    return action === 'reissue' ? `${reason}; start a new request instead` : reason;
  }

  /** Runs one update at a time; the state is checked again once it is this update's turn. */
  async exclusively<T>(action: CertificateAction, operation: () => Promise<T>): Promise<T> {
    await condition(() => !this.busy);
    this.assertAllowed(action);
    this.busy = true;
    try {
      return await operation();
    } finally {
      this.busy = false;
    }
  }

  /** Issues this attempt's certificate (or returns the one waiting for download): awaiting ─► key ready. */
  async retrieveKey(): Promise<KeyRetrievalResult> {
    if (this.state === 'keyReady') return this.keyRetrievalResult();
    const now = Date.now();
    this.issuanceAttempt += 1;
    // The activity also records the key-ready projection: one round trip for the step users wait on.
    const issued = await issueCertificate({
      requestId: this.input.requestId,
      issuanceAttempt: this.issuanceAttempt,
      notBefore: new Date(now).toISOString(),
      notAfter: new Date(addYears(now, this.input.policy.validityYears)).toISOString(),
      downloadDeadline: new Date(endOfDayInTokyo(now)).toISOString(),
      guideExpiresAt: new Date(this.guideExpiresAt).toISOString(),
    });
    this.serial = issued.serial;
    this.notBefore = Date.parse(issued.notBefore);
    this.notAfter = Date.parse(issued.notAfter);
    this.downloadDeadline = endOfDayInTokyo(now);
    this.downloaded = false;
    this.state = 'keyReady';
    this.upsertStatusAttributes();
    return this.keyRetrievalResult();
  }

  /** The portal reports the download; only a key waiting for it counts. */
  confirmDownload(): void {
    if (this.state === 'keyReady') this.downloaded = true;
  }

  /** active ─► renewed: the successor request starts, this certificate stays valid to its end. */
  async requestRenewal(successorRequestId: string): Promise<SuccessorResult> {
    const successor = await this.startSuccessor(successorRequestId, 'renewal');
    this.state = 'renewed';
    await this.record();
    return successor;
  }

  /** Support's reissue: this request's certificate is revoked now and a successor request starts. */
  async reissue(successorRequestId: string): Promise<SuccessorResult> {
    await this.withdrawIssuedCertificate('superseded');
    const successor = await this.startSuccessor(successorRequestId, 'reissue');
    this.state = 'revoked';
    this.revocationReason = 'superseded';
    await this.record();
    return successor;
  }

  /** An admin's revocation; the user is told only if a certificate had been issued. */
  async revoke(reason: RevocationReason): Promise<CertificateStatus> {
    const hadCertificate = this.holdsIssuedCertificate;
    await this.withdrawIssuedCertificate(reason);
    this.state = 'revoked';
    this.revocationReason = reason;
    await this.record();
    if (hadCertificate) this.mail(['revoked', { kind: 'certificateRevoked', reason, revokedAt: new Date().toISOString() }]);
    return this.status();
  }

  async startSuccessor(successorRequestId: string, kind: RequestKind): Promise<SuccessorResult> {
    const { profile, userId, policy } = this.input;
    const successorId = certificateWorkflowId(profile, successorRequestId);
    await startChild<CertificateWorkflow>(CERTIFICATE_WORKFLOW_TYPE, {
      workflowId: successorId,
      args: [{ requestId: successorRequestId, profile, userId, kind, policy, predecessorWorkflowId: this.workflowId }],
      // The successor outlives this request: a renewed certificate ends at its notAfter, a reissued one at once.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: certificateSearchAttributes({ profile, userId, requestId: successorRequestId, state: 'awaitingKeyRetrieval' }),
    });
    this.successorWorkflowId = successorId;
    this.successorRequestId = successorRequestId;
    return { requestId: successorRequestId, workflowId: successorId };
  }

  /** Revokes whatever certificate this request holds and destroys a key still waiting for download. */
  async withdrawIssuedCertificate(reason: RevocationReason): Promise<void> {
    if (this.state === 'keyReady') await destroyKey({ requestId: this.input.requestId, issuanceAttempt: this.issuanceAttempt });
    // An imported certificate is on the previous CA's books, not certflow's: its revocation is this request's state only.
    if (this.holdsIssuedCertificate && this.input.kind !== 'imported') {
      await revokeCertificate({ serial: this.serial!, reason, revokedAt: new Date().toISOString() });
    }
  }

  private keyRetrievalResult(): KeyRetrievalResult {
    return {
      serial: this.serial!,
      notBefore: new Date(this.notBefore!).toISOString(),
      notAfter: new Date(this.notAfter!).toISOString(),
      downloadDeadline: new Date(this.downloadDeadline!).toISOString(),
    };
  }

  // ── Lifecycle steps, in the order of the state diagram ──

  /**
   * Waits until `predicate` holds or `deadline` passes (no timer when it has passed already),
   * then until no update is in the middle of an activity, so the next step sees its outcome.
   */
  async waitFor(predicate: () => boolean, deadline: number): Promise<void> {
    await waitUntil(predicate, deadline);
    await condition(() => !this.busy);
  }

  /** registered ─► guide mails sent (a renewal's successor gets no acquisition guide: the user already knows the way). */
  sendGuideMails(): void {
    const { input } = this;
    const guideExpiresAt = new Date(this.guideExpiresAt).toISOString();
    const mails: EventMail[] = [];
    if (input.notifyIdAdministrator) mails.push(['user-id-notice', { kind: 'userIdNotice' }]);
    if (input.enrollmentPasswordRef) mails.push(['enrollment-password', { kind: 'enrollmentPassword', passwordRef: input.enrollmentPasswordRef }]);
    if (input.kind === 'reissue') mails.push(['reissue-ready', { kind: 'reissueReady', guideExpiresAt }]);
    // Neither a renewal's successor nor an imported certificate has a key to acquire.
    if (input.kind !== 'renewal' && input.kind !== 'imported') mails.push(['acquisition-guide', { kind: 'acquisitionGuide', guideExpiresAt }]);
    this.mail(...mails);
  }

  /** awaiting key retrieval ──(30 days, nothing done)──► request expired */
  async expireRequest(): Promise<void> {
    this.state = 'requestExpired';
    await this.record();
    this.mail(['request-expired', { kind: 'requestExpired', expiredAt: new Date(this.guideExpiresAt).toISOString() }]);
  }

  /** key ready ──downloaded──► active: the key leaves certflow with the download and is destroyed here. */
  async activate(): Promise<void> {
    this.state = 'active';
    await activateCertificate({ issuanceAttempt: this.issuanceAttempt, snapshot: this.snapshot() });
    this.upsertStatusAttributes();
  }

  /** key ready ──(end of day, not downloaded)──► back to awaiting: the undelivered certificate is withdrawn. */
  async withdrawUndownloadedKey(): Promise<void> {
    await this.withdrawIssuedCertificate('cessationOfOperation');
    this.serial = this.notBefore = this.notAfter = this.downloadDeadline = undefined;
    this.state = 'awaitingKeyRetrieval';
    await this.record();
  }

  /** active ──T-n──► renewal notice */
  sendRenewalNotice(daysBefore: number): void {
    this.mail([
      `renewal-notice-${daysBefore}`,
      {
        kind: 'renewalNotice',
        daysBefore,
        notBefore: new Date(this.notBefore!).toISOString(),
        notAfter: new Date(this.notAfter!).toISOString(),
      },
    ]);
    this.renewalNoticesSent.push(daysBefore);
  }

  /** active or renewed ──T-0──► expired */
  async expire(): Promise<void> {
    this.state = 'expired';
    await this.record();
  }
}

function refusal(code: StateRefusalCode, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: code, message, nonRetryable: true });
}

/** condition() with an absolute deadline; one already passed starts no timer. */
async function waitUntil(predicate: () => boolean, deadline: number): Promise<boolean> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) return predicate();
  return condition(predicate, remaining);
}
