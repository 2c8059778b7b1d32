// Reissue (support, on the phone): the current certificate is revoked at once and a successor request starts.
import { businessNow, type Actor, type DomainDeps } from './deps';
import { newEnrollmentPassword } from './enrollment-password';
import { currentRequest, resolveUser, revokeRenewedPredecessors } from './request-chain';

export interface Reissued {
  userId: string;
  profile: string;
  predecessorRequestId: string;
  requestId: string;
  workflowId: string;
  /** Shown to the agent once, to read out by phone; only its hash is stored. */
  enrollmentPassword: string;
}

export async function reissue(deps: Pick<DomainDeps, 'stores' | 'certificates' | 'clock'>, actor: Actor, target: { userId: string; profile?: string }): Promise<Reissued> {
  const user = await resolveUser(deps.stores, target.userId, target.profile);
  const current = await currentRequest(deps.stores, user);
  // The workflow starts the successor itself; its row carries the new password's hash, hashed out here.
  const { password, hash } = await newEnrollmentPassword();
  const successor = await deps.certificates.withSuccessor(
    current,
    'reissue',
    { kind: 'reissue', userId: user.userId, profile: user.profile, enrollmentPasswordHash: hash, now: await businessNow(deps) },
    (successorRequestId) => ({ successorRequestId, agent: actor.agent }),
  );
  await deps.stores.users.setCurrentRequest(user.userId, user.profile, successor.requestId);
  // The reissue supersedes every certificate the user still holds for this profile, a renewed one included.
  await revokeRenewedPredecessors(deps, actor, current, 'superseded');
  return { userId: user.userId, profile: user.profile, predecessorRequestId: current.requestId, ...successor, enrollmentPassword: password };
}
