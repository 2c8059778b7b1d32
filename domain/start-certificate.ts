// Starting a request's certificate workflow with its sealed enrollment password, undoing the caller's rows if Temporal refuses.
import { lifecyclePolicy } from '../engines/pki';
import type { User } from '../stores';
import type { RequestKind } from '../workflows/definitions';
import type { DomainDeps } from './deps';

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
  deps: Pick<DomainDeps, 'certificates' | 'sealedSecrets' | 'profiles'>,
  start: CertificateStart,
  undo: () => Promise<void>,
): Promise<{ requestId: string; workflowId: string }> {
  const { user, requestId } = start;
  // Only this reference crosses Temporal; the mail activity opens and wipes it.
  const enrollmentPasswordRef = await deps.sealedSecrets.seal(start.enrollmentPassword);
  try {
    return await deps.certificates.start({
      requestId,
      profile: user.profile,
      userId: user.userId,
      kind: start.kind,
      policy: lifecyclePolicy(deps.profiles[user.profile]),
      enrollmentPasswordRef,
      notifyIdAdministrator: start.notifyIdAdministrator,
      ...(start.predecessorWorkflowId ? { predecessorWorkflowId: start.predecessorWorkflowId } : {}),
    });
  } catch (err) {
    await deps.sealedSecrets.wipe(enrollmentPasswordRef);
    await undo();
    throw err;
  }
}
