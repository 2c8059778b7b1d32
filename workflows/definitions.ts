// The one module both sides import: names, messages and search attributes of the certificate workflow.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TASK_QUEUE = 'certflow';

export const PROFILES = ['kdanshinnet', 'nissay'] as const;
export type Profile = (typeof PROFILES)[number];

export type RequestKind = 'new' | 'renewal' | 'reissue';

export type CertificateState =
  | 'awaitingKeyRetrieval'
  | 'keyReady'
  | 'active'
  | 'renewed'
  | 'requestExpired'
  | 'revoked'
  | 'expired';

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
}

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
