// The composition root: builds every service certflow runs on from the typed configuration, once per process.
import type { Transporter } from 'nodemailer';
import { createDb, migrateToLatest, type Db } from '../infra/db';
import { createCertificateAuthority, buildProfiles, type CertificateAuthority, type CertificateProfile } from '../engines/pki';
import { createMailActivities, createMailRenderer, createSealedSecrets, createSmtpTransport, type SealedSecrets } from '../engines/mail';
import { createCertificateActivities, type CertificateActivities } from '../activities/certificate-activities';
import { createLifecycleMailer } from '../activities/lifecycle-mailer';
import type { Config } from './config';
import type { LifecyclePolicy, Profile } from '../workflows/definitions';

export interface Runtime {
  config: Config;
  db: Db;
  ca: CertificateAuthority;
  profiles: Record<Profile, CertificateProfile>;
  sealedSecrets: SealedSecrets;
  activities: CertificateActivities;
  close(): Promise<void>;
}

export async function createRuntime(config: Config, options: { transport?: Transporter; now?: Date } = {}): Promise<Runtime> {
  const db = createDb(config.db);
  try {
    await migrateToLatest(db);
    const profiles = buildProfiles({ publicUrl: config.publicUrl });
    const ca = createCertificateAuthority({ db, caDir: config.ca.dir, caPassphrase: config.ca.passphrase, dataKey: config.dataKey, profiles });
    await ca.ensureCas(options.now ?? new Date());
    const transport = options.transport ?? createSmtpTransport(config.smtp);
    const mail = createMailActivities({
      db,
      transport,
      renderer: await createMailRenderer(),
      dataKey: config.dataKey,
      from: config.smtp.from,
      support: config.support,
    });
    const mailer = createLifecycleMailer({ sendMail: mail.sendMail, profiles, publicUrl: config.publicUrl, tlsPublicUrl: config.tlsPublicUrl });
    return {
      config,
      db,
      ca,
      profiles,
      sealedSecrets: createSealedSecrets({ db, dataKey: config.dataKey }),
      activities: createCertificateActivities({ db, ca, mailer }),
      async close() {
        if (!options.transport) transport.close();
        await db.destroy();
      },
    };
  } catch (err) {
    await db.destroy();
    throw err;
  }
}

/** The timing rules a new workflow is started with, from its profile. */
export function lifecyclePolicy(profile: CertificateProfile): LifecyclePolicy {
  return {
    validityYears: profile.validityYears,
    renewalNoticeDays: [...profile.renewalNoticeDays],
    guideValidityDays: profile.guideValidityDays,
  };
}
