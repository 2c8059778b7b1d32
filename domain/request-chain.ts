// Whose request is current: a user's row for a profile, the newest request of its chain, and its renewed predecessors.
import type { IssuanceRequest, Stores, User } from '../stores';
import { OPERATORS_PROFILE, PROFILES, USER_PROFILES, type Profile, type RevocationReason } from '../workflows/definitions';
import type { Actor, DomainDeps } from './deps';
import { Refusal } from './refusal';

export function isProfile(value: unknown): value is Profile {
  return typeof value === 'string' && (PROFILES as readonly string[]).includes(value);
}

export function isUserProfile(value: unknown): value is (typeof USER_PROFILES)[number] {
  return typeof value === 'string' && (USER_PROFILES as readonly string[]).includes(value);
}

/**
 * The user's row for one of the users' profiles; the profile may be omitted when the user holds only one. An
 * operator's certificate is never a user's: support acting on it would hand an admin's certificate to an agent.
 */
export async function resolveUser(stores: Pick<Stores, 'users'>, userId: string, profile: string | undefined): Promise<User> {
  if (profile !== undefined && !isUserProfile(profile)) throw Refusal.invalid(`profile must be one of ${USER_PROFILES.join(', ')}`, 'profile');
  const held = (await stores.users.findAll(userId)).filter((u) => u.profile !== OPERATORS_PROFILE);
  const matching = profile === undefined ? held : held.filter((u) => u.profile === profile);
  if (matching.length === 0) throw Refusal.notFound(`no user ${userId}${profile ? ` for profile ${profile}` : ''}`);
  if (matching.length > 1) throw Refusal.invalid(`user ${userId} holds ${held.map((u) => u.profile).join(' and ')}: say which profile`, 'profile');
  return matching[0]!;
}

/** The newest request of the user's chain: renewals and reissues link their successor in the projection. */
export async function currentRequest(stores: Pick<Stores, 'requests'>, user: User): Promise<IssuanceRequest> {
  let request = user.currentRequestId ? await stores.requests.find(user.currentRequestId) : undefined;
  if (!request) throw Refusal.conflict(`user ${user.userId} has no request for profile ${user.profile}`);
  for (let hops = 0; request.successorRequestId && hops < 100; hops++) {
    const successor = await stores.requests.find(request.successorRequestId);
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
export async function renewedPredecessors(stores: Pick<Stores, 'requests'>, request: IssuanceRequest): Promise<IssuanceRequest[]> {
  const renewed: IssuanceRequest[] = [];
  let predecessorId = request.predecessorRequestId;
  for (let hops = 0; predecessorId && hops < 100; hops++) {
    const predecessor = await stores.requests.find(predecessorId);
    if (!predecessor) break;
    if (predecessor.status === 'renewed') renewed.push(predecessor);
    predecessorId = predecessor.predecessorRequestId;
  }
  return renewed;
}

/** Revokes the still-valid renewed predecessors of `request` with the same reason; each is its own workflow. */
export async function revokeRenewedPredecessors(
  deps: Pick<DomainDeps, 'stores' | 'certificates'>,
  actor: Actor,
  request: IssuanceRequest,
  reason: RevocationReason,
): Promise<string[]> {
  const revoked: string[] = [];
  for (const predecessor of await renewedPredecessors(deps.stores, request)) {
    await deps.certificates.update(predecessor, 'revoke', { reason, agent: actor.agent });
    revoked.push(predecessor.requestId);
  }
  return revoked;
}
