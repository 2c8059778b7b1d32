// `npm run ca:init`: creates each profile's CA in the database (key encrypted with CERTFLOW_CA_PASSPHRASE, or generated
// inside the PKCS#11 token CERTFLOW_CA_KEY_STORE=pkcs11 names) when missing,
// importing the files of a CA made before CAs lived in the database.
import { PROFILES } from '../workflows/definitions';
import { describeCaCertificate, runCaCommand } from './ca-command';

runCaCommand('ca:init', async (ca, config) => {
  const { created, imported } = await ca.ensureCas(new Date());
  for (const profile of PROFILES) {
    const state = created.includes(profile) ? 'created' : imported.includes(profile) ? `imported from ${config.ca.dir}` : 'present';
    const where = config.ca.keyStore.where[profile] === 'pkcs11' && state === 'created' ? ' (key generated in the PKCS#11 token)' : '';
    console.log(`[ca:init] ${profile}: ${state}${where} — ${describeCaCertificate(await ca.caCertificatePem(profile))}`);
  }
  console.log(`[ca:init] CAs in the ${config.db.client === 'pg' ? 'PostgreSQL' : `SQLite (${config.db.connection})`} database`);
});
