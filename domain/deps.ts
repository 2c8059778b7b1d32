// What the domain is given, built once by the composition root (worker/composition.ts).
import type { CertificateAuthority, CertificateProfile, PreviousCas } from '../engines/pki';
import type { MailOutboxStore, SealedSecrets } from '../engines/mail';
import type { Stores, User } from '../stores';
import type { LifecycleMail, Profile } from '../workflows/definitions';
import type { CertificateGateway } from './certificate-gateway';
import type { ImportGateway } from './import-gateway';

/** Business time: the wall clock in production, Temporal's skipped time in tests. */
export type Clock = () => Date | Promise<Date>;

export interface DomainDeps {
  stores: Stores;
  /** Every call to a certificate workflow goes through it. */
  certificates: CertificateGateway;
  /** Starts import workflows and asks their progress. */
  importWorkflows: ImportGateway;
  ca: CertificateAuthority;
  /** The CAs of each profile before certflow: the migration import and renewal with an imported certificate. */
  previousCas: PreviousCas;
  profiles: Record<Profile, CertificateProfile>;
  sealedSecrets: SealedSecrets;
  mailOutbox: Pick<MailOutboxStore, 'listFailedMails' | 'get' | 'listByKeyPrefix'>;
  /** The lifecycle mails through the mail engine (render, outbox, SMTP): a support resend goes the workflow's way. */
  mailer: LifecycleMailSender;
  clock: Clock;
  /** config.dataKey (AES-256): seals the PKCS#12 that waits in the session for its Download. */
  dataKey: Buffer;
}

/**
 * The port to the lifecycle mails (render, outbox, SMTP): activities/lifecycle-mailer.ts implements it, the composition
 * root passes it in (domain/ may not import activities/).
 */
export interface LifecycleMailSender {
  send(delivery: { key: string; to: string; user: User; requestId: string; mail: LifecycleMail }): Promise<{ status: 'sent' | 'failed' }>;
}

/** The support agent or admin on whose behalf a use case runs (from the bearer token). */
export interface Actor {
  agent: string;
  role: 'support' | 'admin';
}

export async function businessNow(deps: Pick<DomainDeps, 'clock'>): Promise<Date> {
  return deps.clock();
}
