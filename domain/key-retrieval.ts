// 鍵の取得 and Download, shared by enrollment (password login) and renewal (client certificate): no HTTP here.
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Db } from '../infra/db';
import { Pkcs12PasswordError, PkiError, PKCS12_PASSWORD_MESSAGES_JA, validatePkcs12Password, type CertificateAuthority } from '../engines/pki';
import { createRequestStore, type IssuanceRequest, type RequestStore } from '../stores/requests';
import {
  downloadConfirmedSignal,
  retrieveKeyUpdate,
  statusQuery,
  type CertificateState,
  type Profile,
  type RequestKind,
} from '../workflows/definitions';
import { HttpError } from '../api/errors';
import { MESSAGES } from '../api/web/messages';
import type { PendingDownload } from '../api/web/session';

/** Business time: the web layer asks it for "now" wherever a date of the certificate's life is compared. */
export type Clock = () => Date | Promise<Date>;

export interface KeyRetrievalDeps {
  db: Db;
  client: Client;
  ca: CertificateAuthority;
  clock: Clock;
}

export interface KeyRetrievalInput {
  requestId: string;
  password: string;
}

const REQUEST_ID = /^\d{15}$/;
const MAX_FIELD_LENGTH = 256;

/** A field of a urlencoded form as a string; arrays (a repeated field) and missing fields are refused. */
export function formField(body: unknown, name: string, { maxLength = MAX_FIELD_LENGTH } = {}): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw HttpError.badRequest(MESSAGES.badRequest, name);
  if (value.length > maxLength) throw new HttpError(422, 'field_too_long', MESSAGES.fieldTooLong, name);
  return value;
}

/** Reads and checks the 鍵の取得 form (request ID, password typed twice) against the PKCS#12 password policy. */
export function readKeyRetrievalForm(body: unknown, userId: string): KeyRetrievalInput {
  const requestId = (formField(body, 'requestId', { maxLength: 64 }) ?? '').trim();
  if (!REQUEST_ID.test(requestId)) throw new HttpError(422, 'request_id_invalid', MESSAGES.requestIdInvalid, 'requestId');
  const password = formField(body, 'password') ?? '';
  const confirmation = formField(body, 'passwordConfirmation') ?? '';
  if (password === '') throw new HttpError(422, 'password_missing', MESSAGES.passwordMissing, 'password');
  try {
    validatePkcs12Password(password, { userId });
  } catch (err) {
    if (err instanceof Pkcs12PasswordError) throw new HttpError(422, 'password_policy', PKCS12_PASSWORD_MESSAGES_JA[err.problem], 'password');
    throw err;
  }
  if (confirmation !== password) throw new HttpError(422, 'password_mismatch', MESSAGES.passwordMismatch, 'passwordConfirmation');
  return { requestId, password };
}

export interface RequestOwner {
  profile: Profile;
  userId: string;
  kinds: RequestKind[];
}

/** The request, if it is this user's, of this profile and of an allowed kind; any other answer reads as unknown. */
export async function findOwnedRequest(requests: RequestStore, requestId: string, owner: RequestOwner): Promise<IssuanceRequest> {
  const request = REQUEST_ID.test(requestId) ? await requests.find(requestId) : undefined;
  if (!request || request.userId !== owner.userId || request.profile !== owner.profile || !owner.kinds.includes(request.kind)) {
    throw new HttpError(422, 'request_id_invalid', MESSAGES.requestIdInvalid, 'requestId');
  }
  return request;
}

/** Why the workflow refused a key retrieval, in the user's words. */
function refusalOf(state: CertificateState | 'reserved' | undefined): HttpError {
  switch (state) {
    case 'awaitingKeyRetrieval': // the validator saw the 30 days pass before the workflow's timer fired
    case 'requestExpired':
      return new HttpError(409, 'request_expired', MESSAGES.requestExpired);
    case 'active':
    case 'renewed':
    case 'expired':
      return new HttpError(409, 'key_already_retrieved', MESSAGES.keyAlreadyRetrieved);
    case 'revoked':
      return new HttpError(409, 'request_withdrawn', MESSAGES.requestWithdrawn);
    default:
      return new HttpError(503, 'temporarily_unavailable', MESSAGES.temporarilyUnavailable);
  }
}

export function createKeyRetrieval({ db, client, ca, clock }: KeyRetrievalDeps) {
  const requests = createRequestStore(db);

  const ownedRequest = (requestId: string, owner: RequestOwner) => findOwnedRequest(requests, requestId, owner);

  async function currentState(request: IssuanceRequest): Promise<CertificateState | 'reserved'> {
    try {
      return (await client.workflow.getHandle(request.workflowId).query(statusQuery)).state;
    } catch {
      // A closed workflow that can no longer be queried: its last projection says where it ended.
      return (await requests.find(request.requestId))?.status ?? request.status;
    }
  }

  return {
    ownedRequest,

    /** Issues (or re-reads) the certificate and seals it with the user's password into a PKCS#12 kept for Download. */
    async prepare(request: IssuanceRequest, password: string): Promise<PendingDownload> {
      const handle = client.workflow.getHandle(request.workflowId);
      let retrieval;
      try {
        retrieval = await handle.executeUpdate(retrieveKeyUpdate);
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError || (err as { code?: number }).code === 5 || (err as Error).name === 'WorkflowNotFoundError') {
          throw refusalOf(await currentState(request));
        }
        throw err;
      }
      const issued = (await ca.certificatesOf(request.profile, request.userId)).find((c) => c.serial === retrieval.serial);
      if (!issued) throw new HttpError(503, 'temporarily_unavailable', MESSAGES.temporarilyUnavailable);
      let pkcs12: Buffer;
      try {
        pkcs12 = await ca.buildPkcs12(issued.issuanceKey, password, { userId: request.userId });
      } catch (err) {
        if (err instanceof PkiError) throw refusalOf(err.code === 'keyDestroyed' ? 'active' : 'revoked');
        throw err;
      }
      return {
        profile: request.profile,
        requestId: request.requestId,
        workflowId: request.workflowId,
        userId: request.userId,
        serial: retrieval.serial,
        downloadDeadline: retrieval.downloadDeadline,
        pkcs12Base64: pkcs12.toString('base64'),
      };
    },

    /** The file for the Download button, while the same day lasts. */
    async download(pending: PendingDownload | undefined): Promise<{ fileName: string; pkcs12: Buffer }> {
      if (!pending) throw new HttpError(409, 'nothing_to_download', MESSAGES.nothingToDownload);
      const now = await clock();
      if (now.getTime() > Date.parse(pending.downloadDeadline)) throw new HttpError(410, 'download_deadline_passed', MESSAGES.downloadDeadlinePassed);
      return { fileName: `${pending.userId}.p12`, pkcs12: Buffer.from(pending.pkcs12Base64, 'base64') };
    },

    /** Tells the workflow the key has left: it destroys its copy and the certificate becomes active. */
    async confirmDownload(pending: PendingDownload): Promise<void> {
      await client.workflow.getHandle(pending.workflowId).signal(downloadConfirmedSignal);
    },
  };
}

export type KeyRetrieval = ReturnType<typeof createKeyRetrieval>;
