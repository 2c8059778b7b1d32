// `npm run ca:init`: creates each profile's CA in the database (key encrypted with CERTFLOW_CA_PASSPHRASE, or generated
// inside the PKCS#11 token CERTFLOW_CA_KEY_STORE=pkcs11 names) when missing,
// importing the files of a CA made before CAs lived in the database.
import crypto from 'node:crypto';
import { ConfigError, loadConfig } from '../worker/config';
import { withDevSecrets } from '../worker/dev-secrets';
import { createDb } from '../infra/db';
import { migrateInstallation } from '../worker/composition';
import { buildProfiles, createCertificateAuthority, createPkiStore, PkiError } from '../engines/pki';
import { PROFILES } from '../workflows/definitions';

async function main(): Promise<void> {
  // The same secrets `npm start` uses, so both open the same CA.
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
    const { created, imported } = await ca.ensureCas(new Date());
    for (const profile of PROFILES) {
      const certificate = new crypto.X509Certificate(await ca.caCertificatePem(profile));
      const state = created.includes(profile) ? 'created' : imported.includes(profile) ? `imported from ${config.ca.dir}` : 'present';
      const where = config.ca.keyStore.where[profile] === 'pkcs11' && state === 'created' ? ' (key generated in the PKCS#11 token)' : '';
      console.log(`[ca:init] ${profile}: ${state}${where} — ${certificate.subject.replace(/\n/g, ', ')}; SHA-256 ${certificate.fingerprint256}; valid to ${certificate.validTo}`);
    }
    console.log(`[ca:init] CAs in the ${config.db.client === 'pg' ? 'PostgreSQL' : `SQLite (${config.db.connection})`} database`);
  } finally {
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof PkiError) console.error(`[ca:init] ${error.message}`);
  else console.error('[ca:init] failed:', error);
  process.exit(1);
});
