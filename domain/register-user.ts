// Registration: the user's row, the first request with its enrollment password (hash only), and the certificate workflow.
import { SubjectValidationError, validateSubject } from '../engines/pki';
import type { Profile } from '../workflows/definitions';
import { certificateWorkflowId } from '../workflows/definitions';
import type { User } from '../stores/users';
import { HttpError } from '../api/errors';
import { stores, tokyoDay, type UseCaseDeps } from './context';
import { newEnrollmentPassword } from './enrollment-password';
import { startCertificateWorkflow } from './start-certificate';

/** What an admin registers: the user's subject, addresses and profile. */
export type Registration = Pick<User, 'userId' | 'profile' | 'email' | 'idAdminEmail' | 'organization' | 'organizationalUnits' | 'subscriberId'>;

export interface RegisteredUser {
  userId: string;
  profile: Profile;
  requestId: string;
  workflowId: string;
}

/** The enrollment password is not returned: it reaches the user only through its mail. */
export async function registerUser(deps: UseCaseDeps, registration: Registration): Promise<RegisteredUser> {
  const { users, requests } = stores(deps.db);
  const now = (deps.clock ?? (() => new Date()))();
  try {
    validateSubject({ ...registration, country: 'JP' });
  } catch (err) {
    if (err instanceof SubjectValidationError) throw HttpError.badRequest(err.message, err.field);
    throw err;
  }
  const { userId, profile } = registration;
  const duplicate = () => HttpError.conflict(`user ${userId} is already registered for profile ${profile}`);
  if (await users.find(userId, profile)) throw duplicate();

  const requestId = await requests.nextRequestId(tokyoDay(now));
  const { password, hash } = await newEnrollmentPassword();
  try {
    await deps.db.transaction(async (trx) => {
      await users.insert({ ...registration, currentRequestId: requestId, createdAt: now }, trx);
      await requests.insert(
        { requestId, userId, profile, kind: 'new', workflowId: certificateWorkflowId(profile, requestId), enrollmentPasswordHash: hash },
        now,
        trx,
      );
    });
  } catch (err) {
    // A concurrent registration of the same user won the primary key.
    if (/unique|duplicate|primary key/i.test((err as Error).message) && (await users.find(userId, profile))) throw duplicate();
    throw err;
  }
  const user = (await users.find(userId, profile))!;
  const started = await startCertificateWorkflow(
    deps,
    { user, requestId, kind: 'new', enrollmentPassword: password, notifyIdAdministrator: true },
    () =>
      deps.db.transaction(async (trx) => {
        await requests.remove(requestId, trx);
        await users.remove(userId, profile, trx);
      }),
  );
  return { userId, profile, ...started };
}
