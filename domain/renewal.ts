// 証明書更新申請: may the presented certificate be renewed now, and reserving its successor request.
import { lifecyclePolicy } from '../engines/pki';
import type { IssuanceRequest } from '../stores';
import { certificateWorkflowId, rulesOf, type RequestStatus } from '../workflows/definitions';
import { renewalOpensAt, renewalWindowDays } from '../workflows/time-rules';
import type { PresentedCertificate } from './client-certificate';
import type { DomainDeps } from './deps';
import { REQUEST_ID } from './key-retrieval';
import { Refusal } from './refusal';

export function createRenewal({ stores, certificates, profiles, clock }: Pick<DomainDeps, 'stores' | 'certificates' | 'profiles' | 'clock'>) {
  const requestOf = (certificate: PresentedCertificate) => ({
    requestId: certificate.requestId,
    workflowId: certificateWorkflowId(certificate.profile, certificate.requestId),
  });

  /** Undefined when the certificate may be renewed now; otherwise why not. */
  async function refusal(certificate: PresentedCertificate): Promise<Refusal | undefined> {
    const state = await certificates.currentState(requestOf(certificate));
    const code = state ? rulesOf(state).refuses.renew : 'notRetrievedYet';
    if (code) return new Refusal(code, `renewal is not possible: the request ${certificate.requestId} is ${state ?? 'unknown'}`);
    const policy = lifecyclePolicy(profiles[certificate.profile]);
    const opensAt = new Date(renewalOpensAt(certificate.notAfter.getTime(), policy));
    if ((await clock()).getTime() < opensAt.getTime()) {
      return new Refusal('renewalNotOpen', `renewal opens on ${opensAt.toISOString()}`, { opensAt, windowDays: renewalWindowDays(policy) });
    }
    return undefined;
  }

  return {
    refusal,

    /** Subscriber ID and notification address as registered for the certificate's user. */
    async subscriber(certificate: PresentedCertificate): Promise<{ subscriberId: string; email: string }> {
      const user = await stores.users.find(certificate.userId, certificate.profile);
      return { subscriberId: user?.subscriberId ?? certificate.userId, email: user?.email ?? '' };
    },

    /** Reserves the successor request and asks the workflow to renew; the workflow's validator has the last word. */
    async request(certificate: PresentedCertificate): Promise<string> {
      const refused = await refusal(certificate);
      if (refused) throw refused;
      try {
        const successor = await certificates.withSuccessor(
          requestOf(certificate),
          'renew',
          { kind: 'renewal', userId: certificate.userId, profile: certificate.profile, now: await clock() },
          (successorRequestId) => ({ successorRequestId }),
        );
        return successor.requestId;
      } catch (err) {
        // The workflow refused after all (a race with a reissue, the window closing): say why as the page would have.
        if (err instanceof Refusal) throw (await refusal(certificate)) ?? err;
        throw err;
      }
    },

    /** A renewal successor of the presented certificate; any other request ID reads as unknown. */
    async successor(certificate: PresentedCertificate, requestId: unknown): Promise<IssuanceRequest> {
      const request = typeof requestId === 'string' && REQUEST_ID.test(requestId) ? await stores.requests.find(requestId) : undefined;
      if (!request || request.kind !== 'renewal' || request.userId !== certificate.userId || request.profile !== certificate.profile) {
        throw new Refusal('requestUnknown', 'not a renewal of the presented certificate', { field: 'requestId' });
      }
      return request;
    },

    async successorState(request: IssuanceRequest): Promise<RequestStatus | undefined> {
      return certificates.currentState(request);
    },

    /** 更新後証明書の取得: the renewals requested with this certificate, newest first. */
    async successorsOf(certificate: PresentedCertificate): Promise<IssuanceRequest[]> {
      const all = await stores.requests.list({ userId: certificate.userId, profile: certificate.profile, limit: 100 });
      return all.filter((r) => r.kind === 'renewal' && r.predecessorRequestId === certificate.requestId && r.status !== 'reserved');
    },
  };
}

export type Renewal = ReturnType<typeof createRenewal>;
