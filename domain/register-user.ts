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

/** The registration as it would go into a certificate's subject; a bad field is an `invalid` refusal naming it. */
export function validateRegistration(registration: Registration): void {
  const subject = subjectError(registration);
  if (subject) throw Refusal.invalid(`subject field ${subject.field}: ${subject.message}`, subject.field);
}

/**
 * The enrollment password is not returned: it reaches the user only through its mail. An operator's registration
 * (domain/operators.ts) tells no ID administrator. `resume`: the caller retries this very registration after its
 * first call died unanswered (the API's Idempotency-Key), so the user found registered with these fields is that
 * call's: its answer is given again, and its workflow started if the call died before starting it.
 */
export async function registerUser(
  deps: DomainDeps,
  registration: Registration,
  options: { notifyIdAdministrator?: boolean; resume?: boolean } = {},
): Promise<RegisteredUser> {
  const { users, requests } = deps.stores;
  const now = await businessNow(deps);
  validateRegistration(registration);
  const { userId, profile } = registration;
  const duplicate = () => new Refusal('duplicate', `user ${userId} is already registered for profile ${profile}`);
  const existing = await users.find(userId, profile);
  if (existing && options.resume && sameRegistration(existing, registration)) return resumeRegistration(deps, existing, options);
  if (existing) throw duplicate();

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

const sameRegistration = (user: User, r: Registration): boolean =>
  user.email === r.email && user.idAdminEmail === r.idAdminEmail && user.organization === r.organization &&
  user.subscriberId === r.subscriberId && JSON.stringify(user.organizationalUnits) === JSON.stringify(r.organizationalUnits);

/** The registration a dead call left: its request's workflow running (answer again), or never started (start it now). */
async function resumeRegistration(deps: DomainDeps, user: User, options: { notifyIdAdministrator?: boolean }): Promise<RegisteredUser> {
  const request = user.currentRequestId ? await deps.stores.requests.find(user.currentRequestId) : undefined;
  if (!request || request.kind !== 'new') throw new Refusal('duplicate', `user ${user.userId} is already registered for profile ${user.profile}`);
  const answer = { userId: user.userId, profile: user.profile, requestId: request.requestId, workflowId: request.workflowId };
  // A row still `reserved` with no workflow: the call died between its transaction and the workflow's start.
  if (request.status !== 'reserved' || (await deps.certificates.liveStatus(request.workflowId))) return answer;
  // The dead call's password went nowhere (its workflow never ran to mail it): a fresh one, as at a password reset.
  const { password, hash } = await newEnrollmentPassword();
  await deps.stores.requests.setPasswordHash(request.requestId, hash);
  // Should Temporal refuse again, the rows stay for the next retry to resume.
  await startCertificateWorkflow(
    deps,
    { user, requestId: request.requestId, kind: 'new', enrollmentPassword: password, notifyIdAdministrator: options.notifyIdAdministrator ?? true },
    async () => {},
  );
  return answer;
}
