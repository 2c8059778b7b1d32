// Reissue (support, on the phone): the current certificate is revoked at once and a successor request starts.
import { businessNow, type Actor, type DomainDeps } from './deps';
import { newEnrollmentPassword } from './enrollment-password';
import { currentRequest, resolveUser, revokeRenewedPredecessors } from './request-chain';
import type { IssuanceRequest, User } from '../stores';

export interface Reissued {
  userId: string;
  profile: string;
  predecessorRequestId: string;
  requestId: string;
  workflowId: string;
  /** Shown to the agent once, to read out by phone; only its hash is stored. */
  enrollmentPassword: string;
}

type ReissueDeps = Pick<DomainDeps, 'stores' | 'certificates' | 'clock'>;

/** A reissue's two requests and the successor's enrollment password. */
interface Succession {
  predecessor: IssuanceRequest;
  successor: { requestId: string; workflowId: string };
  enrollmentPassword: string;
}

/** `resume`: a retry of a call that died unanswered (Idempotency-Key): if its reissue took effect, it is finished, not done again. */
export async function reissue(deps: ReissueDeps, actor: Actor, target: { userId: string; profile?: string }, options: { resume?: boolean } = {}): Promise<Reissued> {
  const user = await resolveUser(deps.stores, target.userId, target.profile);
  const current = await currentRequest(deps.stores, user);
  const made = (options.resume ? await deadCallsSuccession(deps, current) : undefined) ?? (await startSuccession(deps, actor, user, current));
  await deps.stores.users.setCurrentRequest(user.userId, user.profile, made.successor.requestId);
  // The reissue supersedes every certificate the user still holds for this profile, a renewed one included.
  await revokeRenewedPredecessors(deps, actor, made.predecessor, 'superseded');
  return {
    userId: user.userId,
    profile: user.profile,
    predecessorRequestId: made.predecessor.requestId,
    ...made.successor,
    enrollmentPassword: made.enrollmentPassword,
  };
}

/** The current request's workflow revokes it and starts the successor; its row carries the new password's hash. */
async function startSuccession(deps: ReissueDeps, actor: Actor, user: User, current: IssuanceRequest): Promise<Succession> {
  const { password, hash } = await newEnrollmentPassword();
  const successor = await deps.certificates.withSuccessor(
    current,
    'reissue',
    { kind: 'reissue', userId: user.userId, profile: user.profile, enrollmentPasswordHash: hash, now: await businessNow(deps) },
    (successorRequestId) => ({ successorRequestId, agent: actor.agent }),
  );
  return { predecessor: current, successor, enrollmentPassword: password };
}

/**
 * The reissue a dead call made: the user's newest request is its successor, still awaiting key retrieval, and its
 * predecessor was superseded by it. What the dead call did stands; its password went nowhere (only the hash is kept),
 * so the successor gets a fresh one, as at a password reset. Undefined when the newest request is not such a
 * successor: the dead call did not get that far, and the reissue runs as usual.
 */
async function deadCallsSuccession(deps: ReissueDeps, current: IssuanceRequest): Promise<Succession | undefined> {
  if (current.kind !== 'reissue' || !current.predecessorRequestId) return undefined;
  const predecessor = await deps.stores.requests.find(current.predecessorRequestId);
  if (predecessor?.successorRequestId !== current.requestId || predecessor.revocationReason !== 'superseded') return undefined;
  if ((await deps.certificates.currentState(current)) !== 'awaitingKeyRetrieval') return undefined;
  const { password, hash } = await newEnrollmentPassword();
  await deps.stores.requests.setPasswordHash(current.requestId, hash);
  return { predecessor, successor: { requestId: current.requestId, workflowId: current.workflowId }, enrollmentPassword: password };
}
