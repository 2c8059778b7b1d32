// `npm run ca:rollover <profile>`: a new key and certificate for the profile's CA (its next generation), which signs every
// certificate from now on; the older generations stay published, with their CRL and OCSP, until their last certificate expires.
import { PROFILES, type Profile } from '../workflows/definitions';
import { describeCaCertificate, runCaCommand } from './ca-command';

const profile = process.argv[2];
if (!(PROFILES as readonly string[]).includes(profile ?? '')) {
  console.error(`[ca:rollover] usage: npm run ca:rollover <profile>, the profile one of ${PROFILES.join(', ')}${profile ? ` (not ${JSON.stringify(profile)})` : ''}`);
  process.exit(2);
}
const name = profile as Profile;

runCaCommand('ca:rollover', async (ca, config) => {
  const now = new Date();
  // A fresh installation has no CA to replace: its first one is made, as ca:init would.
  const { created, imported } = await ca.ensureCas(now);
  if (created.includes(name) || imported.includes(name)) {
    console.log(`[ca:rollover] ${name}: there was no CA to roll over; generation 1 ${created.includes(name) ? 'created' : `imported from ${config.ca.dir}`} — ${describeCaCertificate(await ca.caCertificatePem(name))}`);
    return;
  }
  const next = await ca.rollover(name, now);
  const where = config.ca.keyStore.where[name] === 'pkcs11' ? ' (key generated in the PKCS#11 token)' : '';
  console.log(`[ca:rollover] ${name}: generation ${next.generation}${where} now signs every new certificate — ${describeCaCertificate(next.certificatePem)}`);
  for (const older of (await ca.caGenerations(name)).filter((g) => !g.current)) {
    const until = older.lastNotAfter && older.lastNotAfter > now ? `still published, with its CRL and OCSP, until ${older.lastNotAfter.toISOString()}, when its last certificate expires` : 'no certificate of it is still valid, no longer published';
    console.log(`[ca:rollover] ${name}: generation ${older.generation}: ${until}`);
  }
  console.log(`[ca:rollover] portals: fetch ${config.publicUrl}/ca/${name}.pem again now (it lists every generation in use); certflow's own TLS listener picks it up within 30 s`);
});
