// `npm run start:cluster`: the production shape on one machine (scripts/cluster/start-cluster.ts) until Ctrl-C.
import { CLUSTER_PORT_SETTINGS, clusterOptionsFromEnv, startCluster } from './cluster/start-cluster';

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(
      [
        'npm run start:cluster — PostgreSQL, the Temporal Server, 2 worker and 2 web processes of certflow, nginx in front.',
        'Settings (environment):',
        '  CERTFLOW_CLUSTER_DIR            state folder (default var/cluster); a second start finds its data there',
        '  CERTFLOW_CLUSTER_WORKERS/_WEBS  how many of each (default 2)',
        ...Object.values(CLUSTER_PORT_SETTINGS).map(([name, port, what]) => `  ${name.padEnd(34)} ${String(port).padEnd(6)} ${what}`),
        '  CERTFLOW_SMTP_HOST/_PORT/…      an SMTP relay instead of MailDev',
        '  other CERTFLOW_* settings       passed to every certflow process (secrets: generated once into <dir>/dev-secrets.json)',
      ].join('\n'),
    );
    return;
  }
  const started = Date.now();
  const cluster = await startCluster(clusterOptionsFromEnv(process.env));
  console.log([...cluster.describe(), `  started in ${((Date.now() - started) / 1000).toFixed(1)} s`, 'Press Ctrl-C to stop.'].join('\n'));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.error('[cluster] stopping');
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: Error) => {
  console.error(`the cluster cannot start: ${err.message}`);
  process.exit(1);
});
