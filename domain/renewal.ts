// 証明書更新申請: may the presented certificate be renewed now, and reserving its successor request (no HTTP here).
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Db } from '../infra/db';
import type { CertificateProfile } from '../engines/pki';
import { createRequestStore, type IssuanceRequest } from '../stores/requests';
import { createUserStore } from '../stores/users';
import {
  certificateWorkflowId,
  requestRenewalUpdate,
  statusQuery,
  type CertificateState,
  type Profile,
} from '../workflows/definitions';
import { HttpError } from '../api/errors';
import { tokyoDay } from './context';
import { formatTokyo } from '../api/web/html';
import type { Clock } from './key-retrieval';
import { MESSAGES } from '../api/web/messages';
import type { PresentedCertificate } from './client-certificate';
import { REFUSALS_JA } from '../api/tls/pages';

const DAY_MS = 86_400_000;

export const RENEWAL_MESSAGES = {
  alreadyRenewed: 'この証明書はすでに更新申請済みです。画面左側の『更新後証明書の取得』から鍵を取得してください。',
  notRetrievedYet: 'この証明書はまだ取得手続きが完了していません。',
  notOpenYet: (days: number, opensAt: Date) => `証明書の更新は有効期限の${days}日前（${formatTokyo(opensAt)}）から可能です。それまでは現在の証明書をご利用ください。`,
  requestIdUnknown: MESSAGES.requestIdInvalid,
} as const;

export interface RenewalDeps {
  db: Db;
  client: Client;
  profiles: Record<Profile, CertificateProfile>;
  clock: Clock;
}

export function createRenewal({ db, client, profiles, clock }: RenewalDeps) {
  const requests = createRequestStore(db);
  const users = createUserStore(db);

  async function stateOf(workflowId: string, requestId: string): Promise<CertificateState | 'reserved' | undefined> {
    try {
      return (await client.workflow.getHandle(workflowId).query(statusQuery)).state;
    } catch {
      return (await requests.find(requestId))?.status;
    }
  }

  /** Undefined when the certificate may be renewed now; otherwise why not, as a 409 in the user's words. */
  async function refusal(certificate: PresentedCertificate): Promise<HttpError | undefined> {
    const state = await stateOf(certificateWorkflowId(certificate.profile, certificate.requestId), certificate.requestId);
    const conflict = (message: string) => new HttpError(409, 'renewal_refused', message);
    switch (state) {
      case 'renewed':
        return conflict(RENEWAL_MESSAGES.alreadyRenewed);
      case 'revoked':
        return conflict(REFUSALS_JA.revoked);
      case 'expired':
        return conflict(REFUSALS_JA.expired);
      case 'active': {
        const days = Math.max(...profiles[certificate.profile].renewalNoticeDays);
        const opensAt = new Date(certificate.notAfter.getTime() - days * DAY_MS);
        if ((await clock()).getTime() < opensAt.getTime()) return conflict(RENEWAL_MESSAGES.notOpenYet(days, opensAt));
        return undefined;
      }
      default:
        return conflict(RENEWAL_MESSAGES.notRetrievedYet);
    }
  }

  return {
    refusal,

    /** Subscriber ID and notification address as registered for the certificate's user. */
    async subscriber(certificate: PresentedCertificate): Promise<{ subscriberId: string; email: string }> {
      const user = await users.find(certificate.userId, certificate.profile);
      return { subscriberId: user?.subscriberId ?? certificate.userId, email: user?.email ?? '' };
    },

    /** Reserves the successor request and asks the workflow to renew; the workflow's validator has the last word. */
    async request(certificate: PresentedCertificate): Promise<string> {
      const refused = await refusal(certificate);
      if (refused) throw refused;
      const now = await clock();
      const successorRequestId = await requests.nextRequestId(tokyoDay(now));
      await requests.insert(
        {
          requestId: successorRequestId,
          userId: certificate.userId,
          profile: certificate.profile,
          kind: 'renewal',
          workflowId: certificateWorkflowId(certificate.profile, successorRequestId),
          predecessorRequestId: certificate.requestId,
        },
        now,
      );
      try {
        await client.workflow
          .getHandle(certificateWorkflowId(certificate.profile, certificate.requestId))
          .executeUpdate(requestRenewalUpdate, { args: [{ successorRequestId }] });
      } catch (err) {
        await requests.remove(successorRequestId);
        if (err instanceof WorkflowUpdateFailedError || (err as { code?: number }).code === 5) {
          throw (await refusal(certificate)) ?? new HttpError(409, 'renewal_refused', MESSAGES.temporarilyUnavailable);
        }
        throw err;
      }
      return successorRequestId;
    },

    /** A renewal successor of the presented certificate; any other request ID reads as unknown. */
    async successor(certificate: PresentedCertificate, requestId: unknown): Promise<IssuanceRequest> {
      const request = typeof requestId === 'string' && /^\d{15}$/.test(requestId) ? await requests.find(requestId) : undefined;
      if (!request || request.kind !== 'renewal' || request.userId !== certificate.userId || request.profile !== certificate.profile) {
        throw new HttpError(404, 'request_id_invalid', RENEWAL_MESSAGES.requestIdUnknown, 'requestId');
      }
      return request;
    },

    async successorState(request: IssuanceRequest): Promise<CertificateState | 'reserved' | undefined> {
      return stateOf(request.workflowId, request.requestId);
    },

    /** 更新後証明書の取得: the renewals requested with this certificate, newest first. */
    async successorsOf(certificate: PresentedCertificate): Promise<IssuanceRequest[]> {
      const all = await requests.list({ userId: certificate.userId, profile: certificate.profile, limit: 100 });
      return all.filter((r) => r.kind === 'renewal' && r.predecessorRequestId === certificate.requestId && r.status !== 'reserved');
    },
  };
}
