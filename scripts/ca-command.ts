// What `npm run ca:init` and `npm run ca:rollover` share: the installation's CA opened as `npm start` opens it (the same
// secrets, the database migrated, the configured key store), the command's work, and its errors in one line.
import crypto from 'node:crypto';
import { ConfigError, loadConfig, type Config } from '../worker/config';
import { withDevSecrets } from '../worker/dev-secrets';
import { createDb } from '../infra/db';
import { migrateInstallation } from '../worker/composition';
import { buildProfiles, createCertificateAuthority, createPkiStore, PkiError, type CertificateAuthority } from '../engines/pki';

/** A CA certificate as the commands print it: subject, fingerprint, end of validity. */
export function describeCaCertificate(pem: string): string {
  const certificate = new crypto.X509Certificate(pem);
  return `${certificate.subject.replace(/\n/g, ', ')}; SHA-256 ${certificate.fingerprint256}; valid to ${certificate.validTo}`;
}

/** Runs `work` on the installation's CA; a configuration or PKI error is printed as `[name] message` and exits 1. */
export function runCaCommand(name: string, work: (ca: CertificateAuthority, config: Config) => Promise<void>): void {
  const run = async () => {
    const { env } = withDevSecrets(process.env, process.env.CERTFLOW_DATA_DIR ?? 'var');
    const config = loadConfig(env);
    const db = createDb(config.db);
    try {
      await migrateInstallation(db, config);
      const ca = createCertificateAuthority({
        store: createPkiStore(db),
        caDir: config.ca.dir,
        caPassphrase: config.ca.passphrase,
        caKeyStore: config.ca.keyStore,
        dataKey: config.dataKey,
        profiles: buildProfiles({ publicUrl: config.publicUrl }),
      });
      await work(ca, config);
    } finally {
      await db.destroy();
    }
  };
  run().catch((error: unknown) => {
    if (error instanceof ConfigError || error instanceof PkiError) console.error(`[${name}] ${error.message}`);
    else console.error(`[${name}] failed:`, error);
    process.exit(1);
  });
}
