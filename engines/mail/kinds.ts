// The mails of a certificate's life, each with the values its template needs; shared by the workflow and the renderer.
import type { RevocationReason } from '../../workflows/definitions';

/** How a mail names the service it is about, e.g. 団信ネット（3社共用） with the subject prefix 【団信ネット（3社共用）】. */
export interface ServiceIdentity {
  serviceName: string;
  subjectPrefix: string;
}

/** The support centre block at the foot of every mail, from configuration. */
export interface SupportContact {
  phone: string;
  email: string;
  hours: string;
  manualUrl: string;
}

/** Dates are ISO-8601 instants chosen by the workflow; mails show them as YYYY/MM/DD in Asia/Tokyo. */
export type IsoDate = string;

/** What the workflow passes for each kind: nothing secret (the enrollment password travels as a sealed reference). */
export interface MailParamsByKind {
  /** ユーザーIDのお知らせ, to the bank's ID administrator. */
  userIdNotice: { userId: string; userEmail: string };
  /** ログインパスワードのお知らせ, to the user; the password itself is opened from the sealed-secret store at send time. */
  enrollmentPassword: { enrollmentPasswordRef: string };
  /** クライアント証明書取得のご案内. */
  acquisitionGuide: { acquisitionUrl: string; requestId: string; userId: string; validUntil: IsoDate };
  /** クライアント証明書更新のご案内, at T-30 and T-7. */
  renewalNotice: { renewalUrl: string; userId: string; notBefore: IsoDate; notAfter: IsoDate; daysLeft: number };
  /** The guide's 30 days ran out before the key was retrieved. */
  requestExpired: { requestId: string; userId: string; expiredAt: IsoDate };
  /** A reissue is ready; user ID and password are told by the support centre, as the manual says. */
  reissueReady: { acquisitionUrl: string; requestId: string; validUntil: IsoDate };
  /** The certificate was revoked (RFC 5280 reason, shown in plain Japanese). */
  certificateRevoked: { userId: string; requestId: string; reason: RevocationReason; revokedAt: IsoDate };
  /** Logins under the user's ID keep failing: someone may be trying to get in (at most one a day). */
  loginAttempts: { userId: string; failures: number; at: IsoDate };
}

export type MailKind = keyof MailParamsByKind;

export const MAIL_KINDS = [
  'userIdNotice',
  'enrollmentPassword',
  'acquisitionGuide',
  'renewalNotice',
  'requestExpired',
  'reissueReady',
  'certificateRevoked',
  'loginAttempts',
] as const satisfies readonly MailKind[];

/** What the renderer needs: the workflow's params, with the sealed reference replaced by the opened secret. */
export type RenderParamsByKind = Omit<MailParamsByKind, 'enrollmentPassword'> & {
  enrollmentPassword: { enrollmentPassword: string };
};

/** One mail to send: `key` is unique per (workflow, event), e.g. `${workflowId}:guide`. */
export type MailRequest = {
  [K in MailKind]: { key: string; kind: K; to: string; service: ServiceIdentity; params: MailParamsByKind[K] };
}[MailKind];

export type SendMailResult =
  | { status: 'sent'; key: string; messageId: string }
  | { status: 'failed'; key: string; reason: string };
