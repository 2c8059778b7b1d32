// A fresh request after the old one ended unused or for good (guide expired, certificate expired or revoked, no live successor).
import { certificateWorkflowId } from '../workflows/definitions';
import { HttpError } from '../api/errors';
import { currentRequest, resolveUser, stores, tokyoDay, type UseCaseDeps } from './context';
import { newEnrollmentPassword } from './enrollment-password';
import { startCertificateWorkflow } from './start-certificate';

const ENDED = ['requestExpired', 'expired', 'revoked'];

export async function startNewRequest(
  deps: UseCaseDeps,
  target: { userId: string; profile?: string },
): Promise<{ userId: string; profile: string; predecessorRequestId: string; requestId: string; workflowId: string }> {
  const { users, requests } = stores(deps.db);
  const user = await resolveUser(deps.db, target.userId, target.profile);
  const previous = await currentRequest(deps.db, user);
  if (!ENDED.includes(previous.status)) {
    throw HttpError.conflict(
      `a new request is not possible: the request ${previous.requestId} is ${previous.status}; a new request follows only an expired request, an expired or a revoked certificate`,
    );
  }
  const now = (deps.clock ?? (() => new Date()))();
  const requestId = await requests.nextRequestId(tokyoDay(now));
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
    throw HttpError.conflict(`user ${user.userId} was changed by another call at the same time; look again and retry`);
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
