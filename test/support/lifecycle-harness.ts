// Starts certificate workflows the way registration does (user row, reserved request, workflow) for workflow tests.
import type { Client } from '@temporalio/client';
import type { Db } from '../../infra/db';
import { createRequestStore } from '../../stores/requests';
import { createUserStore } from '../../stores/users';
import { tokyoDay } from '../../workflows/time-rules';
import {
  certificateWorkflowId,
  type CertificateWorkflowInput,
  type LifecyclePolicy,
  type Profile,
  type RequestKind,
} from '../../workflows/definitions';

export const THREE_YEAR_POLICY: LifecyclePolicy = { validityYears: 3, renewalNoticeDays: [30, 7], guideValidityDays: 30 };

export async function registerTestUser(db: Db, userId: string, profile: Profile = 'kdanshinnet'): Promise<void> {
  await createUserStore(db).insert({
    userId,
    profile,
    email: `${userId}@example.co.jp`,
    idAdminEmail: `admin-of-${userId}@example.co.jp`,
    organization: 'sampleCompany',
    organizationalUnits: ['div1-1-1', 'div1-1', 'div1'],
    subscriberId: userId,
    createdAt: new Date(),
  });
}

/** Reserves a request the way the API and the renewal page do: an ID from the real allocator and a 'reserved' row. */
export async function reserveRequest(
  db: Db,
  userId: string,
  kind: RequestKind,
  { profile = 'kdanshinnet', predecessorRequestId }: { profile?: Profile; predecessorRequestId?: string } = {},
) {
  const requests = createRequestStore(db);
  const requestId = await requests.nextRequestId(tokyoDay(Date.now()));
  const workflowId = certificateWorkflowId(profile, requestId);
  await requests.insert({ requestId, userId, profile, kind, workflowId, predecessorRequestId }, new Date());
  return { requestId, workflowId };
}

export async function startCertificate(
  client: Client,
  db: Db,
  taskQueue: string,
  userId: string,
  extra: Partial<CertificateWorkflowInput> = {},
) {
  const profile = extra.profile ?? 'kdanshinnet';
  await registerTestUser(db, userId, profile);
  const { requestId, workflowId } = await reserveRequest(db, userId, 'new', { profile });
  const input: CertificateWorkflowInput = {
    requestId,
    profile,
    userId,
    kind: 'new',
    policy: THREE_YEAR_POLICY,
    notifyIdAdministrator: true,
    ...extra,
  };
  const handle = await client.workflow.start('certificateWorkflow', { taskQueue, workflowId, args: [input] });
  return { handle, requestId, workflowId };
}
