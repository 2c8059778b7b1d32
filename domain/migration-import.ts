// Migration import: a bank's live certificates from its previous CA become certflow requests of kind `imported`, whose
// workflows start in active (renewal notices, expiry, revocation, renewal over TLS), without a key and without mails.
import { lifecyclePolicy, PkiError, type PreviousCa, type PreviousCaCertificate } from '../engines/pki';
import type { ImportedCertificateRow, IssuanceRequest, User } from '../stores';
import { certificateWorkflowId, PROFILES, rulesOf, type Profile } from '../workflows/definitions';
import { tokyoDay } from '../workflows/time-rules';
import { subjectNamesOf } from './certificate-details';
import { businessNow, type DomainDeps } from './deps';
import { Refusal } from './refusal';
import { validateRegistration, type Registration } from './register-user';
import type { FieldError } from './registration-rules';
import { currentRequest, isProfile } from './request-chain';

/** One certificate to import: the user's registration fields and the certificate (PEM) the previous CA issued them. */
export interface CertificateImport extends Registration {
  certificatePem: string;
}

export interface ImportedCertificate {
  userId: string;
  profile: Profile;
  requestId: string;
  workflowId: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** The previous CA's subject. */
  issuer: string;
  /** True when this certificate had been imported before: the same request is answered, nothing new is started. */
  alreadyImported: boolean;
}

type MigrationDeps = Pick<DomainDeps, 'stores' | 'certificates' | 'previousCas' | 'profiles' | 'clock'>;

/** The PKI engine's refusals of a CA, a CRL or a certificate, as the domain says them. */
async function refusingPki<T>(field: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof PkiError && err.status === 404) throw Refusal.notFound(err.message);
    if (err instanceof PkiError && err.status < 500) throw Refusal.invalid(err.message, field);
    throw err;
  }
}

function profileOf(value: unknown): Profile {
  if (!isProfile(value)) throw Refusal.invalid(`profile must be one of ${PROFILES.join(', ')}`, 'profile');
  return value;
}

/** Registers a previous CA of the profile (an admin's `ca trust-previous`). */
export async function trustPreviousCa(deps: Pick<DomainDeps, 'previousCas' | 'clock'>, input: { profile: string; certificatePem: string }): Promise<PreviousCa> {
  const profile = profileOf(input.profile);
  return refusingPki('certificatePem', async () => deps.previousCas.trust(profile, input.certificatePem, await businessNow(deps)));
}

/** Registers the CRL of a previous CA (PEM or DER), checked to be signed by it; replaces the one before. */
export async function setPreviousCaCrl(
  deps: Pick<DomainDeps, 'previousCas' | 'clock'>,
  input: { profile: string; fingerprint: string; crl: string | Buffer },
): Promise<PreviousCa> {
  const profile = profileOf(input.profile);
  return refusingPki('crl', async () => deps.previousCas.setCrl(profile, input.fingerprint, input.crl, await businessNow(deps)));
}

export async function listPreviousCas(deps: Pick<DomainDeps, 'previousCas'>, profile?: string): Promise<PreviousCa[]> {
  return deps.previousCas.list(profile === undefined ? undefined : profileOf(profile));
}

/**
 * The subject must say who the registration says: CN = userId, O = organization and the OUs = organizationalUnits
 * (most specific first). The e-mail addresses and subscriber ID are certflow's registration data and are not compared.
 * Undefined when they agree; otherwise the registration's field that disagrees.
 */
export function subjectMismatch(certificate: string | Buffer, registration: Pick<Registration, 'userId' | 'organization' | 'organizationalUnits'>): FieldError | undefined {
  const names = subjectNamesOf(certificate);
  if (names.commonName !== registration.userId) {
    return { field: 'userId', message: `the certificate's subject CN=${names.commonName} does not match userId ${registration.userId}` };
  }
  if (names.organization !== registration.organization) {
    return { field: 'organization', message: `the certificate's subject O=${names.organization} does not match organization ${registration.organization}` };
  }
  if (names.organizationalUnits.join('\u0000') !== registration.organizationalUnits.join('\u0000')) {
    const message = `the certificate's subject OUs ${JSON.stringify(names.organizationalUnits)} do not match organizationalUnits ${JSON.stringify(registration.organizationalUnits)}`;
    return { field: 'organizationalUnits', message };
  }
  return undefined;
}

/** A user already registered must be the same person in every field; otherwise the import would silently change them. */
function checkSameUser(user: User, registration: Registration): void {
  const fields = ['email', 'idAdminEmail', 'organization', 'subscriberId'] as const;
  const differing = fields.find((f) => user[f] !== registration[f])
    ?? (user.organizationalUnits.join('\u0000') !== registration.organizationalUnits.join('\u0000') ? 'organizationalUnits' : undefined);
  if (differing) {
    throw new Refusal('duplicate', `user ${user.userId} is already registered for profile ${user.profile} with another ${differing}`, { field: differing });
  }
}

/**
 * Imports one certificate: it must be signed by a previous CA of the profile, within its validity, not on that CA's
 * CRL, and name the user (checkSubject). The same certificate (issuer and serial) imported again answers the same
 * request. The user is registered, or found when already registered with the same fields and no open request.
 */
export async function importCertificate(deps: MigrationDeps, input: CertificateImport): Promise<ImportedCertificate> {
  const { stores } = deps;
  const profile = profileOf(input.profile);
  validateRegistration(input);
  if (typeof input.certificatePem !== 'string') throw Refusal.invalid('certificatePem must be a PEM certificate', 'certificatePem');
  const certificate = await refusingPki('certificatePem', () => deps.previousCas.identify(profile, input.certificatePem));
  if (!certificate) throw Refusal.invalid(`the certificate is not signed by a previous CA of profile ${profile}`, 'certificatePem');
  const mismatch = subjectMismatch(certificate.der, input);
  if (mismatch) throw Refusal.invalid(mismatch.message, mismatch.field);

  const known = await stores.importedCertificates.find(certificate.issuer.fingerprint, certificate.serial);
  if (known) return resume(deps, known, certificate);

  const now = await businessNow(deps);
  const problem = await deps.previousCas.problem(certificate, now);
  if (problem) throw Refusal.invalid(problem.reason, 'certificatePem');

  const { userId } = input;
  const user = await stores.users.find(userId, profile);
  let previous: IssuanceRequest | undefined;
  if (user) {
    checkSameUser(user, input);
    previous = user.currentRequestId ? await currentRequest(stores, user) : undefined;
    if (previous && !rulesOf(previous.status).ended) {
      throw Refusal.conflict(`user ${userId} already has the request ${previous.requestId} (${previous.status}) for profile ${profile}`);
    }
  }

  const requestId = await stores.requests.nextRequestId(tokyoDay(now.getTime()));
  const row: ImportedCertificateRow = {
    issuerFingerprint: certificate.issuer.fingerprint,
    serial: certificate.serial,
    fingerprint: certificate.fingerprint,
    profile,
    userId,
    requestId,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    createdAt: now,
  };
  const registration = {
    userId,
    profile,
    email: input.email,
    idAdminEmail: input.idAdminEmail,
    organization: input.organization,
    organizationalUnits: input.organizationalUnits,
    subscriberId: input.subscriberId,
  };
  try {
    await stores.inTransaction(async (tx) => {
      if (!user) await tx.users.insert({ ...registration, currentRequestId: requestId, createdAt: now });
      else if (!(await tx.users.replaceCurrentRequest(userId, profile, user.currentRequestId, requestId))) {
        throw Refusal.conflict(`user ${userId} was changed by another call at the same time; look again and retry`);
      }
      const workflowId = certificateWorkflowId(profile, requestId);
      await tx.requests.insert({ requestId, userId, profile, kind: 'imported', workflowId, predecessorRequestId: previous?.requestId }, now);
      await tx.importedCertificates.insert(row);
    });
  } catch (err) {
    if (err instanceof Refusal) throw err;
    // Another import of the same certificate won the issuer and serial: its request is the answer.
    const winner = await stores.importedCertificates.find(row.issuerFingerprint, row.serial);
    if (winner) return resume(deps, winner, certificate);
    if (!user && (await stores.users.find(userId, profile))) throw new Refusal('duplicate', `user ${userId} was registered for profile ${profile} by another call`);
    throw err;
  }

  try {
    await startImportedWorkflow(deps, row);
  } catch (err) {
    await stores.inTransaction(async (tx) => {
      await tx.importedCertificates.remove(row.issuerFingerprint, row.serial);
      if (user) await tx.users.replaceCurrentRequest(userId, profile, requestId, user.currentRequestId);
      else await tx.users.remove(userId, profile);
      await tx.requests.remove(requestId);
    });
    throw err;
  }
  return answer(row, certificate.issuer, false);
}

function answer(row: ImportedCertificateRow, issuer: PreviousCa, alreadyImported: boolean): ImportedCertificate {
  const { userId, profile, requestId, serial, notBefore, notAfter } = row;
  return { userId, profile, requestId, workflowId: certificateWorkflowId(profile, requestId), serial, notBefore, notAfter, issuer: issuer.subject, alreadyImported };
}

/** An import seen before: its request, with its workflow started should the first attempt have stopped short of it. */
async function resume(deps: MigrationDeps, row: ImportedCertificateRow, certificate: PreviousCaCertificate): Promise<ImportedCertificate> {
  if (row.fingerprint !== certificate.fingerprint) {
    throw Refusal.conflict(`another certificate with serial ${row.serial} of the same previous CA was imported already (request ${row.requestId})`);
  }
  const request = await deps.stores.requests.find(row.requestId);
  if (request?.status === 'reserved' && !(await deps.certificates.liveStatus(request.workflowId))) {
    try {
      await startImportedWorkflow(deps, row);
    } catch (err) {
      // A concurrent import of the same certificate started it first.
      if (!(await deps.certificates.liveStatus(request.workflowId))) throw err;
    }
  }
  return answer(row, certificate.issuer, true);
}

async function startImportedWorkflow(deps: MigrationDeps, row: ImportedCertificateRow): Promise<void> {
  await deps.certificates.start({
    requestId: row.requestId,
    profile: row.profile,
    userId: row.userId,
    kind: 'imported',
    policy: lifecyclePolicy(deps.profiles[row.profile]),
    // Serial and dates only: no PEM and no key cross into Temporal's history.
    imported: { serial: row.serial, notBefore: row.notBefore.toISOString(), notAfter: row.notAfter.toISOString() },
  });
}
