// `npm run ca:rollover <profile>`: a new key and certificate for the profile's CA (its next generation), which signs every
// certificate from now on; the older generations stay published, with their CRL and OCSP, until their last certificate expires.
import crypto from 'node:crypto';
import { ConfigError, loadConfig } from '../worker/config';
import { withDevSecrets } from '../worker/dev-secrets';
import { createDb } from '../infra/db';
import { migrateInstallation } from '../worker/composition';
import { buildProfiles, createCertificateAuthority, createPkiStore, PkiError } from '../engines/pki';
import { PROFILES, type Profile } from '../workflows/definitions';

function describe(pem: string): string {
  const certificate = new crypto.X509Certificate(pem);
  return `${certificate.subject.replace(/\n/g, ', ')}; SHA-256 ${certificate.fingerprint256}; valid to ${certificate.validTo}`;
}

async function main(): Promise<void> {
  const profile = process.argv[2];
  if (!(PROFILES as readonly string[]).includes(profile ?? '')) {
    console.error(`[ca:rollover] usage: npm run ca:rollover <profile>, the profile one of ${PROFILES.join(', ')}${profile ? ` (not ${JSON.stringify(profile)})` : ''}`);
    process.exit(2);
  }
  const name = profile as Profile;
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
      // The new generation's key is made where CERTFLOW_CA_KEY_STORE[_<PROFILE>] says now (the file or the token).
      caKeyStore: config.ca.keyStore,
      dataKey: config.dataKey,
      profiles: buildProfiles({ publicUrl: config.publicUrl }),
    });
    const now = new Date();
    // A fresh installation has no CA to replace: its first one is made, as ca:init would.
    const { created, imported } = await ca.ensureCas(now);
    if (created.includes(name) || imported.includes(name)) {
      console.log(`[ca:rollover] ${name}: there was no CA to roll over; generation 1 ${created.includes(name) ? 'created' : `imported from ${config.ca.dir}`} — ${describe(await ca.caCertificatePem(name))}`);
      return;
    }
    const next = await ca.rollover(name, now);
    const where = config.ca.keyStore.where[name] === 'pkcs11' ? ' (key generated in the PKCS#11 token)' : '';
    console.log(`[ca:rollover] ${name}: generation ${next.generation}${where} now signs every new certificate — ${describe(next.certificatePem)}`);
    for (const older of (await ca.caGenerations(name)).filter((g) => !g.current)) {
      const until = older.lastNotAfter && older.lastNotAfter > now ? `still published, with its CRL and OCSP, until ${older.lastNotAfter.toISOString()}, when its last certificate expires` : 'no certificate of it is still valid, no longer published';
      console.log(`[ca:rollover] ${name}: generation ${older.generation}: ${until}`);
    }
    console.log(`[ca:rollover] portals: fetch ${config.publicUrl}/ca/${name}.pem again now (it lists every generation in use); certflow's own TLS listener picks it up within 30 s`);
  } finally {
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof PkiError) console.error(`[ca:rollover] ${error.message}`);
  else console.error('[ca:rollover] failed:', error);
  process.exit(1);
});
