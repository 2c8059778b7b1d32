// Registration: the user's row, the first request with its enrollment password (hash only), and the certificate workflow.
import type { User } from '../stores';
import { certificateWorkflowId, type Profile } from '../workflows/definitions';
import { tokyoDay } from '../workflows/time-rules';
import { businessNow, type DomainDeps } from './deps';
import { newEnrollmentPassword } from './enrollment-password';
import { Refusal } from './refusal';
import { subjectError } from './registration-rules';
import { startCertificateWorkflow } from './start-certificate';

/** What an admin registers: the user's subject, addresses and profile. */
export type Registration = Pick<User, 'userId' | 'profile' | 'email' | 'idAdminEmail' | 'organization' | 'organizationalUnits' | 'subscriberId'>;

export interface RegisteredUser {
  userId: string;
  profile: Profile;
  requestId: string;
  workflowId: string;
}

/**
 * The enrollment password is not returned: it reaches the user only through its mail. An operator's registration
 * (domain/operators.ts) tells no ID administrator.
 */
export async function registerUser(deps: DomainDeps, registration: Registration, options: { notifyIdAdministrator?: boolean } = {}): Promise<RegisteredUser> {
  const { users, requests } = deps.stores;
  const now = await businessNow(deps);
  const subject = subjectError(registration);
  if (subject) throw Refusal.invalid(`subject field ${subject.field}: ${subject.message}`, subject.field);
  const { userId, profile } = registration;
  const duplicate = () => new Refusal('duplicate', `user ${userId} is already registered for profile ${profile}`);
  if (await users.find(userId, profile)) throw duplicate();

  const requestId = await requests.nextRequestId(tokyoDay(now.getTime()));
  const { password, hash } = await newEnrollmentPassword();
  try {
    await deps.stores.inTransaction(async (tx) => {
      await tx.users.insert({ ...registration, currentRequestId: requestId, createdAt: now });
      await tx.requests.insert({ requestId, userId, profile, kind: 'new', workflowId: certificateWorkflowId(profile, requestId), enrollmentPasswordHash: hash }, now);
    });
  } catch (err) {
    // A concurrent registration of the same user won the primary key.
    if (/unique|duplicate|primary key/i.test((err as Error).message) && (await users.find(userId, profile))) throw duplicate();
    throw err;
  }
  const user = (await users.find(userId, profile))!;
  const started = await startCertificateWorkflow(
    deps,
    { user, requestId, kind: 'new', enrollmentPassword: password, notifyIdAdministrator: options.notifyIdAdministrator ?? true },
    () =>
      deps.stores.inTransaction(async (tx) => {
        await tx.requests.remove(requestId);
        await tx.users.remove(userId, profile);
      }),
  );
  return { userId, profile, ...started };
}
