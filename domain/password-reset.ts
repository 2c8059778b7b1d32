// The user's way back in: a fresh enrollment password for a request still awaiting key retrieval, and lifting a login lock.
import type { DomainDeps } from './deps';
import { newEnrollmentPassword } from './enrollment-password';
import { Refusal } from './refusal';
import { isUserProfile } from './request-chain';

export async function resetEnrollmentPassword(
  deps: DomainDeps,
  requestId: string,
  /** An operator's request is reset only by an admin through the operator routes. */
  options: { operators?: boolean } = {},
): Promise<{ requestId: string; userId: string; profile: string; enrollmentPassword: string }> {
  const { users, requests } = deps.stores;
  const request = await requests.find(requestId);
  if (!request) throw Refusal.notFound(`no request ${requestId}`);
  if (!isUserProfile(request.profile) && !options.operators) throw Refusal.notFound(`no user request ${requestId}`);
  // The projection may lag a transition by an activity; the running workflow knows.
  const state = (await deps.certificates.currentState(request)) ?? request.status;
  if (state !== 'awaitingKeyRetrieval') {
    throw Refusal.conflict(`password reset is not possible: the request ${requestId} is ${state}, not awaiting key retrieval`);
  }
  const { password, hash } = await newEnrollmentPassword();
  await requests.setPasswordHash(requestId, hash);
  await users.resetFailedLogins(request.userId);
  return { requestId, userId: request.userId, profile: request.profile, enrollmentPassword: password };
}

/** Clears the failed-login counter and lock of every profile the user holds. */
export async function unlockUser(deps: Pick<DomainDeps, 'stores'>, userId: string): Promise<{ userId: string }> {
  const { users } = deps.stores;
  if ((await users.findAll(userId)).length === 0) throw Refusal.notFound(`no user ${userId}`);
  await users.resetFailedLogins(userId);
  return { userId };
}
