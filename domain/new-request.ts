// A fresh request after the old one ended unused or for good (guide expired, certificate expired or revoked, no live successor).
import { certificateWorkflowId, rulesOf, statesWhere } from '../workflows/definitions';
import { tokyoDay } from '../workflows/time-rules';
import { businessNow, type DomainDeps } from './deps';
import { newEnrollmentPassword } from './enrollment-password';
import { Refusal } from './refusal';
import { currentRequest, resolveUser } from './request-chain';
import { startCertificateWorkflow } from './start-certificate';

export async function startNewRequest(
  deps: DomainDeps,
  target: { userId: string; profile?: string },
): Promise<{ userId: string; profile: string; predecessorRequestId: string; requestId: string; workflowId: string }> {
  const { users, requests } = deps.stores;
  const user = await resolveUser(deps.stores, target.userId, target.profile);
  const previous = await currentRequest(deps.stores, user);
  if (!rulesOf(previous.status).ended) {
    throw Refusal.conflict(
      `a new request is not possible: the request ${previous.requestId} is ${previous.status}; a new request follows only ${statesWhere('ended').join(', ')}`,
    );
  }
  const now = await businessNow(deps);
  const requestId = await requests.nextRequestId(tokyoDay(now.getTime()));
  const { password, hash } = await newEnrollmentPassword();
  await requests.insert(
    {
      requestId,
      userId: user.userId,
      profile: user.profile,
      kind: 'new',
      workflowId: certificateWorkflowId(user.profile, requestId),
      enrollmentPasswordHash: hash,
      predecessorRequestId: previous.requestId,
    },
    now,
  );
  // Two agents on the same user: only the first moves the user to a new request.
  if (!(await users.replaceCurrentRequest(user.userId, user.profile, user.currentRequestId, requestId))) {
    await requests.remove(requestId);
    throw Refusal.conflict(`user ${user.userId} was changed by another call at the same time; look again and retry`);
  }
  const started = await startCertificateWorkflow(
    deps,
    { user, requestId, kind: 'new', enrollmentPassword: password, notifyIdAdministrator: false, predecessorWorkflowId: previous.workflowId },
    async () => {
      await users.replaceCurrentRequest(user.userId, user.profile, requestId, user.currentRequestId);
      await requests.remove(requestId);
    },
  );
  return { userId: user.userId, profile: user.profile, predecessorRequestId: previous.requestId, ...started };
}
