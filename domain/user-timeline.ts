// A user's page for support: per profile the chain of requests with their mails, the audit entries and the portal's verdict now.
import type { OutboxMail } from '../engines/mail';
import type { IssuanceRequest, RecordedAuditEvent, User } from '../stores';
import { rulesOf, type Profile, type RequestKind, type RequestStatus, type RevocationReason } from '../workflows/definitions';
import { businessNow, type DomainDeps } from './deps';
import { Refusal } from './refusal';
import { currentRequest, renewedPredecessors } from './request-chain';

/** Would a relying portal admit the user now, with which certificate, or why not. */
export type PortalVerdict = { admitted: true; serial: string; requestId: string } | { admitted: false; reason: string; requestId?: string };

export interface TimelineMail {
  key: string;
  /** The event part of the key, e.g. `acquisition-guide`, `renewal-notice-30`, `acquisition-guide:resend`. */
  event: string;
  kind: OutboxMail['kind'];
  recipient: string;
  status: OutboxMail['status'];
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
}

export interface TimelineRequest {
  requestId: string;
  kind: RequestKind;
  status: RequestStatus;
  workflowId: string;
  createdAt: Date;
  guideExpiresAt?: Date;
  downloadDeadline?: Date;
  serial?: string;
  notBefore?: Date;
  notAfter?: Date;
  revokedAt?: Date;
  revocationReason?: RevocationReason;
  predecessorRequestId?: string;
  successorRequestId?: string;
  mails: TimelineMail[];
}

export interface ProfileTimeline {
  profile: Profile;
  user: User;
  currentRequestId?: string;
  /** Oldest first: new → renewal → reissue …, and any later new request. */
  requests: TimelineRequest[];
  /** About the user or one of these requests, newest first. */
  audit: RecordedAuditEvent[];
  portal: PortalVerdict;
}

const AUDIT_LIMIT = 200;

/** The mails of one request: every outbox key is `${workflowId}:${event}` (workflows/certificate-entity.ts). */
async function mailsOf(deps: Pick<DomainDeps, 'mailOutbox'>, workflowId: string): Promise<TimelineMail[]> {
  const prefix = `${workflowId}:`;
  return (await deps.mailOutbox.listByKeyPrefix(prefix)).map((m) => ({
    key: m.key,
    event: m.key.slice(prefix.length),
    kind: m.kind,
    recipient: m.recipient,
    status: m.status,
    attempts: m.attempts,
    lastError: m.lastError,
    createdAt: m.createdAt,
    sentAt: m.sentAt,
  }));
}

/**
 * The portal's verdict from the current request: the running workflow's own refusal reason, else the state table's.
 * While a renewal waits for its key, the renewed predecessor's certificate still opens the portal to its notAfter.
 */
export async function portalVerdict(deps: Pick<DomainDeps, 'stores' | 'certificates' | 'clock'>, user: User): Promise<PortalVerdict> {
  let current: IssuanceRequest;
  try {
    current = await currentRequest(deps.stores, user);
  } catch (err) {
    if (err instanceof Refusal) return { admitted: false, reason: err.reason };
    throw err;
  }
  const rules = rulesOf(current.status);
  // Temporal not answering is no reason to hide the page: the projection's state still says what the portal does.
  const live = rules.open ? await deps.certificates.liveStatus(current.workflowId).catch(() => undefined) : undefined;
  const reason = live ? live.refusalReason : rules.portalRefusal;
  const serial = live ? live.serial : current.serial;
  if (!reason && serial) return { admitted: true, serial, requestId: current.requestId };
  const now = (await businessNow(deps)).getTime();
  const serving = (await renewedPredecessors(deps.stores, current)).find((p) => p.serial && p.notAfter && p.notAfter.getTime() > now);
  if (serving) return { admitted: true, serial: serving.serial!, requestId: serving.requestId };
  return { admitted: false, reason: reason ?? 'no certificate has been issued for this request yet', requestId: current.requestId };
}

export async function userTimeline(deps: Pick<DomainDeps, 'stores' | 'certificates' | 'ca' | 'mailOutbox' | 'clock'>, userId: string): Promise<ProfileTimeline[]> {
  const held = await deps.stores.users.findAll(userId);
  if (held.length === 0) throw Refusal.notFound(`no user ${userId}`);
  return Promise.all(
    held.map(async (user) => {
      const rows = (await deps.stores.requests.list({ userId, profile: user.profile, limit: 500 })).reverse();
      const issued = new Map((await deps.ca.certificatesOf(user.profile, userId)).map((c) => [c.serial, c]));
      const requests = await Promise.all(
        rows.map(async (r): Promise<TimelineRequest> => {
          const certificate = r.serial ? issued.get(r.serial) : undefined;
          return {
            requestId: r.requestId,
            kind: r.kind,
            status: r.status,
            workflowId: r.workflowId,
            createdAt: r.createdAt,
            guideExpiresAt: r.guideExpiresAt,
            downloadDeadline: r.downloadDeadline,
            serial: r.serial,
            notBefore: r.notBefore,
            notAfter: r.notAfter,
            revokedAt: certificate?.revokedAt ?? undefined,
            revocationReason: r.revocationReason ?? certificate?.revocationReason ?? undefined,
            predecessorRequestId: r.predecessorRequestId,
            successorRequestId: r.successorRequestId,
            mails: await mailsOf(deps, r.workflowId),
          };
        }),
      );
      const audit = await deps.stores.audit.search({
        targets: [`user:${userId}`, `user:${userId}/${user.profile}`, ...rows.map((r) => `request:${r.requestId}`)].map((value) => ({ value })),
        limit: AUDIT_LIMIT,
        offset: 0,
      });
      return { profile: user.profile, user, currentRequestId: user.currentRequestId, requests, audit, portal: await portalVerdict(deps, user) };
    }),
  );
}
