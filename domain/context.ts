// What every use case is given, and the domain rules they share: whose request is current, how Temporal answers map to HTTP.
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Db } from '../infra/db';
import type { SealedSecrets } from '../engines/mail';
import type { CertificateProfile } from '../engines/pki';
import { createAuditStore } from '../stores/audit';
import { createRequestStore, type IssuanceRequest } from '../stores/requests';
import { createUserStore, type User } from '../stores/users';
import { PROFILES, revokeUpdate, type Profile, type RevocationReason } from '../workflows/definitions';
import { HttpError } from '../api/errors';

export interface UseCaseDeps {
  db: Db;
  /** The process's one Temporal client. */
  client: Client;
  taskQueue: string;
  profiles: Record<Profile, CertificateProfile>;
  sealedSecrets: SealedSecrets;
  /** Wall clock for request IDs and bookkeeping; the workflow keeps its own time. */
  clock?: () => Date;
}

/** The support agent or admin on whose behalf a use case runs (from the bearer token). */
export interface Actor {
  agent: string;
  role: 'support' | 'admin';
}

export function stores(db: Db) {
  return { users: createUserStore(db), requests: createRequestStore(db), audit: createAuditStore(db) };
}

const TOKYO_OFFSET_MS = 9 * 3_600_000; // Japan has no daylight saving time

/** yyyymmdd of the Asia/Tokyo calendar day: the date part of a request ID. */
export function tokyoDay(at: Date): string {
  return new Date(at.getTime() + TOKYO_OFFSET_MS).toISOString().slice(0, 10).replace(/-/g, '');
}

export function isProfile(value: unknown): value is Profile {
  return typeof value === 'string' && (PROFILES as readonly string[]).includes(value);
}

/** The user's row for one profile; the profile may be omitted when the user holds only one. */
export async function resolveUser(db: Db, userId: string, profile: string | undefined): Promise<User> {
  if (profile !== undefined && !isProfile(profile)) throw HttpError.badRequest(`profile must be one of ${PROFILES.join(', ')}`, 'profile');
  const held = await createUserStore(db).findAll(userId);
  const matching = profile === undefined ? held : held.filter((u) => u.profile === profile);
  if (matching.length === 0) throw HttpError.notFound(`no user ${userId}${profile ? ` for profile ${profile}` : ''}`);
  if (matching.length > 1) throw HttpError.badRequest(`user ${userId} holds ${held.map((u) => u.profile).join(' and ')}: say which profile`, 'profile');
  return matching[0]!;
}

/** The newest request of the user's chain: renewals and reissues link their successor in the projection. */
export async function currentRequest(db: Db, user: User): Promise<IssuanceRequest> {
  const requests = createRequestStore(db);
  let request = user.currentRequestId ? await requests.find(user.currentRequestId) : undefined;
  if (!request) throw HttpError.conflict(`user ${user.userId} has no request for profile ${user.profile}`);
  for (let hops = 0; request.successorRequestId && hops < 100; hops++) {
    const successor = await requests.find(request.successorRequestId);
    if (!successor) break;
    request = successor;
  }
  return request;
}

/**
 * The renewed predecessors of a request whose certificates are still valid (a renewed certificate serves to its own
 * end): a revocation or reissue of the user's certificate must withdraw them too, or the old one would still open
 * the portal.
 */
export async function renewedPredecessors(db: Db, request: IssuanceRequest): Promise<IssuanceRequest[]> {
  const requests = createRequestStore(db);
  const renewed: IssuanceRequest[] = [];
  let predecessorId = request.predecessorRequestId;
  for (let hops = 0; predecessorId && hops < 100; hops++) {
    const predecessor = await requests.find(predecessorId);
    if (!predecessor) break;
    if (predecessor.status === 'renewed') renewed.push(predecessor);
    predecessorId = predecessor.predecessorRequestId;
  }
  return renewed;
}

/** Revokes the still-valid renewed predecessors of `request` with the same reason; each is its own workflow. */
export async function revokeRenewedPredecessors(deps: UseCaseDeps, actor: Actor, request: IssuanceRequest, reason: RevocationReason): Promise<string[]> {
  const revoked: string[] = [];
  for (const predecessor of await renewedPredecessors(deps.db, request)) {
    await deps.client.workflow.getHandle(predecessor.workflowId).executeUpdate(revokeUpdate, { args: [{ reason, agent: actor.agent }] });
    revoked.push(predecessor.requestId);
  }
  return revoked;
}

/** A workflow's refusal becomes a 409 with its reason; a closed workflow, a 409 naming the projected state. */
export function asConflict(err: unknown, request: IssuanceRequest, action: string): unknown {
  if (err instanceof WorkflowUpdateFailedError) {
    return HttpError.conflict((err.cause as Error | undefined)?.message ?? err.message);
  }
  const code = (err as { code?: number }).code;
  if (err instanceof WorkflowNotFoundError || code === 5 /* gRPC NOT_FOUND: the run has closed */) {
    return HttpError.conflict(`${action} is not possible: the request ${request.requestId} is ${request.status}`);
  }
  return err;
}
