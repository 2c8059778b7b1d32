// Starting a request's certificate workflow with its sealed enrollment password, undoing the caller's rows if Temporal refuses.
import type { User } from '../stores/users';
import type { certificateWorkflow } from '../workflows/certificate';
import { CertProfile, CertRequestId, CertStatus, CertUserId, certificateWorkflowId, type RequestKind } from '../workflows/definitions';
import { lifecyclePolicy } from '../worker/runtime';
import { HttpError } from '../api/errors';
import type { UseCaseDeps } from './context';

export interface CertificateStart {
  user: User;
  requestId: string;
  kind: RequestKind;
  enrollmentPassword: string;
  /** Only a first registration tells the bank's ID administrator the user ID. */
  notifyIdAdministrator: boolean;
  predecessorWorkflowId?: string;
}

export async function startCertificateWorkflow(
  deps: UseCaseDeps,
  start: CertificateStart,
  undo: () => Promise<void>,
): Promise<{ requestId: string; workflowId: string }> {
  const { user, requestId } = start;
  const workflowId = certificateWorkflowId(user.profile, requestId);
  // Only this reference crosses Temporal; the mail activity opens and wipes it.
  const enrollmentPasswordRef = await deps.sealedSecrets.seal(start.enrollmentPassword);
  try {
    await deps.client.workflow.start<typeof certificateWorkflow>('certificateWorkflow', {
      taskQueue: deps.taskQueue,
      workflowId,
      args: [
        {
          requestId,
          profile: user.profile,
          userId: user.userId,
          kind: start.kind,
          policy: lifecyclePolicy(deps.profiles[user.profile]),
          enrollmentPasswordRef,
          notifyIdAdministrator: start.notifyIdAdministrator,
          ...(start.predecessorWorkflowId ? { predecessorWorkflowId: start.predecessorWorkflowId } : {}),
        },
      ],
      typedSearchAttributes: [
        { key: CertStatus, value: 'awaitingKeyRetrieval' },
        { key: CertProfile, value: user.profile },
        { key: CertUserId, value: user.userId },
        { key: CertRequestId, value: requestId },
      ],
    });
  } catch (err) {
    await deps.sealedSecrets.wipe(enrollmentPasswordRef);
    await undo();
    throw Object.assign(new HttpError(503, 'workflow_unavailable', 'the certificate workflow could not be started; nothing was kept'), { cause: err });
  }
  return { requestId, workflowId };
}
