// Reissue (support, on the phone): the current certificate is revoked at once and a successor request starts.
import { certificateWorkflowId, reissueUpdate } from '../workflows/definitions';
import { asConflict, currentRequest, resolveUser, revokeRenewedPredecessors, stores, tokyoDay, type Actor, type UseCaseDeps } from './context';
import { newEnrollmentPassword } from './enrollment-password';

export interface Reissued {
  userId: string;
  profile: string;
  predecessorRequestId: string;
  requestId: string;
  workflowId: string;
  /** Shown to the agent once, to read out by phone; only its hash is stored. */
  enrollmentPassword: string;
}

export async function reissue(deps: UseCaseDeps, actor: Actor, target: { userId: string; profile?: string }): Promise<Reissued> {
  const { users, requests } = stores(deps.db);
  const user = await resolveUser(deps.db, target.userId, target.profile);
  const current = await currentRequest(deps.db, user);
  const now = (deps.clock ?? (() => new Date()))();

  // The workflow starts the successor itself; the caller reserves its ID and row (with the password hash) first.
  const requestId = await requests.nextRequestId(tokyoDay(now));
  const workflowId = certificateWorkflowId(user.profile, requestId);
  const { password, hash } = await newEnrollmentPassword();
  await requests.insert(
    { requestId, userId: user.userId, profile: user.profile, kind: 'reissue', workflowId, enrollmentPasswordHash: hash, predecessorRequestId: current.requestId },
    now,
  );
  try {
    await deps.client.workflow
      .getHandle(current.workflowId)
      .executeUpdate(reissueUpdate, { args: [{ successorRequestId: requestId, agent: actor.agent }] });
  } catch (err) {
    await requests.remove(requestId);
    throw asConflict(err, current, 'reissue');
  }
  await users.setCurrentRequest(user.userId, user.profile, requestId);
  // The reissue supersedes every certificate the user still holds for this profile, a renewed one included.
  await revokeRenewedPredecessors(deps, actor, current, 'superseded');
  return { userId: user.userId, profile: user.profile, predecessorRequestId: current.requestId, requestId, workflowId, enrollmentPassword: password };
}
