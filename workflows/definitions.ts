// The one module both sides import: names, messages and search attributes of the certificate workflow.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TASK_QUEUE = 'certflow';

/**
 * The task queue of the mail activity: its own, so the Temporal server can hold the whole queue to the relay's rate
 * (every worker process polls it with maxTaskQueueActivitiesPerSecond); the workflow's task queue + `-mail`.
 */
export function mailTaskQueue(taskQueue: string): string {
  return `${taskQueue}-mail`;
}

export const PROFILES = ['kdanshinnet', 'nissay', 'operators'] as const;
export type Profile = (typeof PROFILES)[number];
/** The profiles of the portal's users; `operators` certifies certflow's own support agents and admins (the console). */
export const USER_PROFILES = ['kdanshinnet', 'nissay'] as const satisfies readonly Profile[];
export type UserProfile = (typeof USER_PROFILES)[number];
export const OPERATORS_PROFILE = 'operators' satisfies Profile;

/** imported: a live certificate of a previous CA, brought in by the migration import; its workflow starts in active. */
export type RequestKind = 'new' | 'renewal' | 'reissue' | 'imported';

export const CERTIFICATE_STATES = ['awaitingKeyRetrieval', 'keyReady', 'active', 'renewed', 'requestExpired', 'revoked', 'expired'] as const;
export type CertificateState = (typeof CERTIFICATE_STATES)[number];
/** A request's row before its workflow has started (or after it failed to): the projection's extra state. */
export type RequestStatus = CertificateState | 'reserved';
export const REQUEST_STATUSES: readonly RequestStatus[] = ['reserved', ...CERTIFICATE_STATES];

/** RFC 5280 CRLReason names accepted by the revoke update. */
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'privilegeWithdrawn',
  'aACompromise',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** What the workflow, the domain and the pages may be asked to do to a request. */
export type CertificateAction = 'retrieveKey' | 'renew' | 'reissue' | 'revoke';

/** How each action names itself in a refusal ("key retrieval is not possible: …"). */
export const ACTION_NAMES: Record<CertificateAction, string> = {
  retrieveKey: 'key retrieval',
  renew: 'renewal',
  reissue: 'reissue',
  revoke: 'revocation',
};

/** Why a request refuses an action, whoever asks: the code the workflow fails an update with, and the domain passes on. */
export const STATE_REFUSAL_CODES = [
  'requestExpired',
  'requestWithdrawn',
  'keyAlreadyRetrieved',
  'notRetrievedYet',
  'alreadyRenewed',
  'renewalNotOpen',
  'certificateRevoked',
  'certificateExpired',
  'requestEnded',
] as const;
export type StateRefusalCode = (typeof STATE_REFUSAL_CODES)[number];

export interface StateRules {
  /** Its workflow still runs (a renewed or active one waits for its notAfter). */
  open: boolean;
  /** Over for good: support may start a new request after it. */
  ended: boolean;
  /** Between the guide mail and the download: 鍵の取得 may (still) be done. */
  awaitingDownload: boolean;
  /** A certificate signed for this request may still be valid, so a reissue or revocation must revoke it. */
  holdsCertificate: boolean;
  /** The key has left certflow with a download, so the certificate is the user's (revoked: if it got that far). */
  delivered: boolean;
  /** Per action, the refusal; an action not listed is allowed (renewal still only inside its window). */
  refuses: Partial<Record<CertificateAction, StateRefusalCode>>;
  /** Why a relying portal refuses this request's certificate; absent when it admits it (until notAfter). */
  portalRefusal?: string;
}

const ENDED_REFUSALS = { reissue: 'requestEnded', revoke: 'requestEnded' } as const;

/** The one table of what each state means and allows; every other list of states derives from it. */
export const STATE_RULES: Record<CertificateState, StateRules> = {
  awaitingKeyRetrieval: {
    open: true, ended: false, awaitingDownload: true, holdsCertificate: false, delivered: false,
    refuses: { renew: 'notRetrievedYet' },
    portalRefusal: 'no certificate has been issued for this request yet',
  },
  keyReady: {
    open: true, ended: false, awaitingDownload: true, holdsCertificate: true, delivered: false,
    refuses: { renew: 'notRetrievedYet' },
    portalRefusal: 'the certificate has been issued but its key has not been downloaded yet',
  },
  active: {
    open: true, ended: false, awaitingDownload: false, holdsCertificate: true, delivered: true,
    refuses: { retrieveKey: 'keyAlreadyRetrieved' },
  },
  renewed: {
    open: true, ended: false, awaitingDownload: false, holdsCertificate: true, delivered: true,
    refuses: { retrieveKey: 'keyAlreadyRetrieved', renew: 'alreadyRenewed' },
  },
  requestExpired: {
    open: false, ended: true, awaitingDownload: false, holdsCertificate: false, delivered: false,
    refuses: { retrieveKey: 'requestExpired', renew: 'notRetrievedYet', ...ENDED_REFUSALS },
    portalRefusal: 'the request expired before a certificate was retrieved',
  },
  revoked: {
    open: false, ended: true, awaitingDownload: false, holdsCertificate: false, delivered: true,
    refuses: { retrieveKey: 'requestWithdrawn', renew: 'certificateRevoked', ...ENDED_REFUSALS },
    portalRefusal: 'the certificate is revoked',
  },
  expired: {
    open: false, ended: true, awaitingDownload: false, holdsCertificate: false, delivered: true,
    refuses: { retrieveKey: 'keyAlreadyRetrieved', renew: 'certificateExpired', ...ENDED_REFUSALS },
    portalRefusal: 'the certificate has expired',
  },
};

/** The rules of a projected status; a reserved row is a request whose workflow is about to start. */
export function rulesOf(status: RequestStatus): StateRules {
  return status === 'reserved' ? RESERVED_RULES : STATE_RULES[status];
}

const RESERVED_RULES: StateRules = { ...STATE_RULES.awaitingKeyRetrieval, holdsCertificate: false };

/** The states with a rule set, e.g. statesWhere('ended'). */
export function statesWhere(rule: 'open' | 'ended' | 'awaitingDownload' | 'holdsCertificate' | 'delivered'): CertificateState[] {
  return CERTIFICATE_STATES.filter((state) => STATE_RULES[state][rule]);
}

export function certificateWorkflowId(profile: Profile, requestId: string): string {
  return `certificate-${profile}-${requestId}`;
}

/** Timing rules of a profile, fixed into the workflow's input so later configuration changes never alter running certificates. */
export interface LifecyclePolicy {
  validityYears: number;
  renewalNoticeDays: number[];
  guideValidityDays: number;
}

export interface CertificateWorkflowInput {
  requestId: string;
  profile: Profile;
  userId: string;
  kind: RequestKind;
  policy: LifecyclePolicy;
  predecessorWorkflowId?: string;
  /** Reference to the sealed enrollment password for the password mail; never the password itself. */
  enrollmentPasswordRef?: string;
  /** A first registration also tells the bank's ID administrator the user ID. */
  notifyIdAdministrator?: boolean;
  /** kind imported: the previous CA's certificate as the request starts with it (never its PEM, never a key). */
  imported?: ImportedCertificateFacts;
}

export interface ImportedCertificateFacts {
  serial: string;
  /** ISO-8601. */
  notBefore: string;
  notAfter: string;
}

/** Where a request's workflow starts: an imported certificate is already in the user's hands, so active. */
export function initialState(input: Pick<CertificateWorkflowInput, 'imported'>): CertificateState {
  return input.imported ? 'active' : 'awaitingKeyRetrieval';
}

/** The workflow's type name and signature, for whoever starts one (the domain's gateway, a predecessor's successor). */
export const CERTIFICATE_WORKFLOW_TYPE = 'certificateWorkflow';
export type CertificateWorkflow = (input: CertificateWorkflowInput) => Promise<CertificateStatus>;

export interface CertificateStatus {
  requestId: string;
  profile: Profile;
  userId: string;
  kind: RequestKind;
  state: CertificateState;
  guideExpiresAt: string;
  downloadDeadline?: string;
  serial?: string;
  notBefore?: string;
  notAfter?: string;
  revocationReason?: RevocationReason;
  predecessorWorkflowId?: string;
  successorWorkflowId?: string;
  renewalNoticesSent: number[];
  /** Why a relying portal would refuse this certificate now; absent when it would admit it. */
  refusalReason?: string;
}

export interface KeyRetrievalResult {
  serial: string;
  notBefore: string;
  notAfter: string;
  downloadDeadline: string;
}

export interface SuccessorResult {
  requestId: string;
  workflowId: string;
}

export interface RevokeRequest {
  reason: RevocationReason;
  agent: string;
}

export interface ReissueRequest {
  /** Request ID of the successor, reserved by the caller (the enrollment password is hashed outside the workflow). */
  successorRequestId: string;
  agent: string;
}

export interface RenewalRequest {
  successorRequestId: string;
}

export const retrieveKeyUpdate = defineUpdate<KeyRetrievalResult, []>('retrieveKey');
export const requestRenewalUpdate = defineUpdate<SuccessorResult, [RenewalRequest]>('requestRenewal');
export const reissueUpdate = defineUpdate<SuccessorResult, [ReissueRequest]>('reissue');
export const revokeUpdate = defineUpdate<CertificateStatus, [RevokeRequest]>('revoke');
export const downloadConfirmedSignal = defineSignal<[]>('downloadConfirmed');
export const statusQuery = defineQuery<CertificateStatus>('status');

export const CertStatus = defineSearchAttributeKey('CertStatus', SearchAttributeType.KEYWORD);
export const CertProfile = defineSearchAttributeKey('CertProfile', SearchAttributeType.KEYWORD);
export const CertUserId = defineSearchAttributeKey('CertUserId', SearchAttributeType.KEYWORD);
export const CertRequestId = defineSearchAttributeKey('CertRequestId', SearchAttributeType.KEYWORD);
export const CertNotAfter = defineSearchAttributeKey('CertNotAfter', SearchAttributeType.DATETIME);

/** For `temporal server start-dev --search-attribute` and test servers. */
export const SEARCH_ATTRIBUTE_TYPES: Record<string, 'Keyword' | 'Datetime'> = {
  CertStatus: 'Keyword',
  CertProfile: 'Keyword',
  CertUserId: 'Keyword',
  CertRequestId: 'Keyword',
  CertNotAfter: 'Datetime',
};

/** Initial search attributes of a request's workflow: the starter sets them, and the workflow upserts the same keys. */
export function certificateSearchAttributes(
  a: { profile: Profile; userId: string; requestId: string; state: CertificateState; notAfter?: number },
) {
  return [
    { key: CertStatus, value: a.state },
    { key: CertProfile, value: a.profile },
    { key: CertUserId, value: a.userId },
    { key: CertRequestId, value: a.requestId },
    ...(a.notAfter !== undefined ? [{ key: CertNotAfter, value: new Date(a.notAfter) }] : []),
  ];
}

// ── The activities the workflow calls: the contract activities/ implements ──

/** What a workflow reports at each transition, for the database projection. */
export interface RequestSnapshot {
  requestId: string;
  state: CertificateState;
  serial?: string;
  notBefore?: string;
  notAfter?: string;
  guideExpiresAt: string;
  downloadDeadline?: string;
  revocationReason?: RevocationReason;
  successorRequestId?: string;
}

/** The mails of a certificate's life; nothing secret (the enrollment password travels as a sealed reference). */
export type LifecycleMail =
  | { kind: 'userIdNotice' }
  | { kind: 'enrollmentPassword'; passwordRef: string }
  | { kind: 'acquisitionGuide'; guideExpiresAt: string }
  | { kind: 'reissueReady'; guideExpiresAt: string }
  | { kind: 'renewalNotice'; daysBefore: number; notBefore: string; notAfter: string }
  | { kind: 'requestExpired'; expiredAt: string }
  | { kind: 'certificateRevoked'; reason: RevocationReason; revokedAt: string }
  /** Not the workflow's: the login page sends it when the user's ID is under attack (domain/enrollment-login.ts). */
  | { kind: 'loginAttempts'; failures: number; at: string };

export interface IssuanceOrder {
  requestId: string;
  /** 1 for the first key retrieval; a lapsed download is followed by a fresh certificate with the next attempt. */
  issuanceAttempt: number;
  notBefore: string;
  notAfter: string;
  downloadDeadline: string;
  guideExpiresAt: string;
}

export interface CertificateActivities {
  recordRequest(snapshot: RequestSnapshot): Promise<void>;
  /** Issues (or finds) the certificate of this attempt and records the request as key-ready. */
  issueCertificate(order: IssuanceOrder): Promise<{ serial: string; notBefore: string; notAfter: string }>;
  /** The download is confirmed: the key is destroyed and the request recorded as active. */
  activateCertificate(input: { issuanceAttempt: number; snapshot: RequestSnapshot }): Promise<void>;
  destroyKey(input: { requestId: string; issuanceAttempt: number }): Promise<void>;
  revokeCertificate(input: { serial: string; reason: RevocationReason; revokedAt: string }): Promise<void>;
  /** Sends the mails of one event in order; each is delivered once by its own key. */
  sendLifecycleMails(input: { requestId: string; mails: Array<{ key: string; mail: LifecycleMail }> }): Promise<Array<{ key: string; status: 'sent' | 'failed' }>>;
}
