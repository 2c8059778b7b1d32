// `npm run serve`: one production certflow process of the role CERTFLOW_ROLE (web, worker or all, the default) on
// an existing Temporal cluster, database and SMTP relay — no dev server, no mailbox, no generated secrets.
import { assertListenPortsFree, closeDataDir, createLifecycle, createProcessLogger, loadConfigOrExit, startCertflowProcess } from './process';

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  closeDataDir(config.dataDir);
  const logger = createProcessLogger(config);
  await Promise.all(assertListenPortsFree(config));

  const lifecycle = createLifecycle(logger);
  await lifecycle.startUp(async () => {
    await startCertflowProcess(config, logger, lifecycle);
    const { http, temporal } = config;
    const lines = [
      `certflow is up: ${config.processName ?? 'certflow'} as ${config.role} (pid ${process.pid})`,
      ...(config.role === 'worker'
        ? []
        : [
            `  web and API      ${http.tls ? 'https' : 'http'}://${http.host}:${http.port}  (public: ${config.publicUrl})`,
            `  TLS client auth  https://${http.host}:${http.tlsPort}  (public: ${config.tlsPublicUrl})`,
          ]),
      ...(config.role === 'web' ? [] : [`  worker           task queue ${temporal.taskQueue}`]),
      `  Temporal         ${temporal.address}${temporal.tls ? ' (TLS)' : ''}, namespace ${temporal.namespace}`,
      `  database         ${config.db.client === 'sqlite' ? config.db.connection : 'PostgreSQL'}`,
    ];
    console.log(lines.join('\n'));
  });
}

main().catch((err: Error) => {
  console.error(`certflow cannot start: ${err.message}`);
  process.exit(1);
});
