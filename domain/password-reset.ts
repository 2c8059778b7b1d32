// The user's way back in: a fresh enrollment password for a request still awaiting key retrieval, and lifting a login lock.
import { HttpError } from '../api/errors';
import { stores, type UseCaseDeps } from './context';
import { newEnrollmentPassword } from './enrollment-password';
import { liveStatus } from './queries';

export async function resetEnrollmentPassword(
  deps: UseCaseDeps,
  requestId: string,
): Promise<{ requestId: string; userId: string; profile: string; enrollmentPassword: string }> {
  const { users, requests } = stores(deps.db);
  const request = await requests.find(requestId);
  if (!request) throw HttpError.notFound(`no request ${requestId}`);
  // The projection may lag a transition by an activity; the running workflow knows.
  const state = (await liveStatus(deps.client, request.workflowId))?.state ?? request.status;
  if (state !== 'awaitingKeyRetrieval') {
    throw HttpError.conflict(`password reset is not possible: the request ${requestId} is ${state}, not awaiting key retrieval`);
  }
  const { password, hash } = await newEnrollmentPassword();
  await requests.setPasswordHash(requestId, hash);
  await users.resetFailedLogins(request.userId);
  return { requestId, userId: request.userId, profile: request.profile, enrollmentPassword: password };
}

/** Clears the failed-login counter and lock of every profile the user holds. */
export async function unlockUser(deps: UseCaseDeps, userId: string): Promise<{ userId: string }> {
  const { users } = stores(deps.db);
  if ((await users.findAll(userId)).length === 0) throw HttpError.notFound(`no user ${userId}`);
  await users.resetFailedLogins(userId);
  return { userId };
}
