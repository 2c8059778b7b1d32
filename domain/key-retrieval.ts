// 鍵の取得 and Download, shared by enrollment (password login) and renewal (client certificate).
import { PkiError } from '../engines/pki';
import { open, seal } from '../infra/aead';
import type { IssuanceRequest, RequestStore } from '../stores';
import { rulesOf, type Profile, type RequestKind } from '../workflows/definitions';
import type { DomainDeps } from './deps';
import { Refusal } from './refusal';

/** A key waiting for its Download: the PKCS#12 (already encrypted with the user's password), never its password. */
export interface PendingDownload {
  profile: string;
  requestId: string;
  workflowId: string;
  userId: string;
  serial: string;
  downloadDeadline: string;
  /** The PKCS#12 sealed under the data key (base64): it waits in a session, and sessions live in the database. */
  sealedPkcs12: { ciphertext: string; nonce: string };
}

/** Binds the sealed PKCS#12 to its request, user and certificate: moved into another pending download, it does not open. */
const pendingLabel = (p: Pick<PendingDownload, 'profile' | 'requestId' | 'userId' | 'serial'>) =>
  `certflow:web:pending-download:${p.profile}:${p.requestId}:${p.userId}:${p.serial}`;

export const REQUEST_ID = /^\d{15}$/;

export interface RequestOwner {
  profile: Profile;
  userId: string;
  kinds: readonly RequestKind[];
}

/** The request, if it is this user's, of this profile and of an allowed kind; any other answer reads as unknown. */
export async function findOwnedRequest(requests: RequestStore, requestId: string, owner: RequestOwner): Promise<IssuanceRequest> {
  const request = REQUEST_ID.test(requestId) ? await requests.find(requestId) : undefined;
  if (!request || request.userId !== owner.userId || request.profile !== owner.profile || !owner.kinds.includes(request.kind)) {
    throw new Refusal('requestUnknown', `request ${requestId.slice(0, 32)} is not one of this user's`, { field: 'requestId' });
  }
  return request;
}

/** Waits between tries of a download's confirmation while Temporal is away: doubling from 1 s to 30 s. */
export const CONFIRM_RETRY = { firstMs: 1_000, maxMs: 30_000 };

export function createKeyRetrieval(
  { stores, certificates, ca, clock, dataKey }: Pick<DomainDeps, 'stores' | 'certificates' | 'ca' | 'clock' | 'dataKey'>,
  confirmRetry = CONFIRM_RETRY,
) {
  /**
   * The key may leave only while its request is still key-ready with this very certificate: a reissue or revocation
   * since 鍵の取得 has revoked it, and a lapsed deadline has withdrawn it.
   */
  async function assertStillDownloadable(pending: PendingDownload): Promise<void> {
    const live = await certificates.liveStatus(pending.workflowId);
    const state = live?.state ?? (await stores.requests.find(pending.requestId))?.status;
    if (state === 'keyReady' && live?.serial === pending.serial) return;
    const reason = `the key of request ${pending.requestId} (certificate ${pending.serial}) can no longer be downloaded: the request is ${state ?? 'unknown'}`;
    throw new Refusal((state && rulesOf(state).refuses.retrieveKey) ?? 'nothingToDownload', reason);
  }

  return {
    ownedRequest: (requestId: string, owner: RequestOwner) => findOwnedRequest(stores.requests, requestId, owner),

    /** Issues (or re-reads) the certificate and seals it with the user's password into a PKCS#12 kept for Download. */
    async prepare(request: IssuanceRequest, password: string): Promise<PendingDownload> {
      const retrieval = await certificates.update(request, 'retrieveKey');
      const issued = (await ca.certificatesOf(request.profile, request.userId)).find((c) => c.serial === retrieval.serial);
      if (!issued) throw new Refusal('unavailable', `certificate ${retrieval.serial} is not in the CA's records yet`);
      let pkcs12: Buffer;
      try {
        pkcs12 = await ca.buildPkcs12(issued.issuanceKey, password, { userId: request.userId });
      } catch (err) {
        if (err instanceof PkiError && err.code === 'keyDestroyed') throw new Refusal('keyAlreadyRetrieved', err.message);
        if (err instanceof PkiError) throw new Refusal('requestWithdrawn', err.message);
        throw err;
      }
      const bound = { profile: request.profile, requestId: request.requestId, userId: request.userId, serial: retrieval.serial };
      const sealed = seal(dataKey, pendingLabel(bound), pkcs12);
      pkcs12.fill(0);
      return {
        ...bound,
        workflowId: request.workflowId,
        downloadDeadline: retrieval.downloadDeadline,
        sealedPkcs12: { ciphertext: sealed.ciphertext.toString('base64'), nonce: sealed.nonce.toString('base64') },
      };
    },

    /** The file for the Download button, while the same day lasts. */
    async download(pending: PendingDownload | undefined): Promise<{ fileName: string; pkcs12: Buffer }> {
      if (!pending) throw new Refusal('nothingToDownload', 'no key is waiting for download');
      const now = await clock();
      if (now.getTime() > Date.parse(pending.downloadDeadline)) throw new Refusal('downloadDeadlinePassed', `the download deadline ${pending.downloadDeadline} has passed`);
      await assertStillDownloadable(pending);
      let pkcs12: Buffer;
      try {
        const { ciphertext, nonce } = pending.sealedPkcs12;
        pkcs12 = open(dataKey, pendingLabel(pending), { ciphertext: Buffer.from(ciphertext, 'base64'), nonce: Buffer.from(nonce, 'base64') });
      } catch {
        // Altered, moved from another request, or sealed under a data key since replaced: start again from 鍵の取得.
        throw new Refusal('nothingToDownload', `the pending download of ${pending.requestId} does not open under the data key`);
      }
      return { fileName: `${pending.userId}.p12`, pkcs12 };
    },

    /**
     * Tells the workflow the key has left: it destroys its copy and the certificate becomes active. The file is already
     * with the user, and a workflow that never hears of it revokes that certificate at the deadline: so a Temporal
     * outage is waited out (until the deadline) instead of the confirmation being lost.
     */
    async confirmDownload(pending: PendingDownload): Promise<void> {
      for (let waitMs = confirmRetry.firstMs; ; waitMs = Math.min(2 * waitMs, confirmRetry.maxMs)) {
        try {
          return await certificates.confirmDownload(pending.workflowId);
        } catch (err) {
          const unavailable = err instanceof Refusal && err.code === 'unavailable';
          if (!unavailable || (await clock()).getTime() + waitMs > Date.parse(pending.downloadDeadline)) throw err;
          await new Promise((resolve) => setTimeout(resolve, waitMs));
        }
      }
    },
  };
}

export type KeyRetrieval = ReturnType<typeof createKeyRetrieval>;
