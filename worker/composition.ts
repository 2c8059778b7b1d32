// The composition root: builds every service certflow runs on from the typed configuration, once per process —
// database, stores, engines, activities, the domain and the HTTP servers. `npm start`, the benches and the test
// harnesses all assemble certflow here.
import type https from 'node:https';
import type { Client, Connection } from '@temporalio/client';
import type { Express } from 'express';
import type { Transporter } from 'nodemailer';
import { createApp } from '../api/app';
import { createSupportRouter } from '../api/support/router';
import { createTlsServer } from '../api/tls/server';
import type { TlsServerCertificate } from '../api/tls/server-certificate';
import { renderErrorPage } from '../api/web/pages-errors';
import type { WebDeps } from '../api/web/page-kit';
import { createWebRouter } from '../api/web/router';
import { createCertificateActivities } from '../activities/certificate-activities';
import { createLifecycleMailer } from '../activities/lifecycle-mailer';
import { createCertificateGateway, type Clock, type DomainDeps } from '../domain';
import { createMailActivities, createMailOutboxStore, createMailRenderer, createSealedSecrets, createSmtpTransport, type MailOutboxStore, type SealedSecrets } from '../engines/mail';
import { buildProfiles, createCertificateAuthority, createPkiStore, type CertificateAuthority, type CertificateProfile } from '../engines/pki';
import { createDb, migrateToLatest, type Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { createStores, type Stores } from '../stores';
import type { CertificateActivities, Profile } from '../workflows/definitions';
import type { Config } from './config';

export interface Runtime {
  config: Config;
  db: Db;
  stores: Stores;
  ca: CertificateAuthority;
  profiles: Record<Profile, CertificateProfile>;
  sealedSecrets: SealedSecrets;
  mailOutbox: MailOutboxStore;
  activities: CertificateActivities;
  close(): Promise<void>;
}

/** Everything below the entry points: database (migrated), stores, CA (created if missing), mail and the activities. */
export async function createRuntime(config: Config, options: { transport?: Transporter; now?: Date } = {}): Promise<Runtime> {
  const db = createDb(config.db);
  try {
    await migrateToLatest(db);
    const stores = createStores(db);
    const profiles = buildProfiles({ publicUrl: config.publicUrl });
    // The engines' stores, each built once; the mail activities and the domain share the sealed secrets and the outbox.
    const pkiStore = createPkiStore(db);
    const sealedSecrets = createSealedSecrets({ db, dataKey: config.dataKey });
    const mailOutbox = createMailOutboxStore(db);
    const ca = createCertificateAuthority({
      store: pkiStore,
      caDir: config.ca.dir,
      caPassphrase: config.ca.passphrase,
      dataKey: config.dataKey,
      profiles,
    });
    await ca.ensureCas(options.now ?? new Date());
    const transport = options.transport ?? createSmtpTransport(config.smtp);
    const mail = createMailActivities({
      outbox: mailOutbox,
      secrets: sealedSecrets,
      transport,
      renderer: await createMailRenderer(),
      from: config.smtp.from,
      support: config.support,
    });
    const mailer = createLifecycleMailer({ sendMail: mail.sendMail, profiles, publicUrl: config.publicUrl, tlsPublicUrl: config.tlsPublicUrl });
    return {
      config,
      db,
      stores,
      ca,
      profiles,
      sealedSecrets,
      mailOutbox,
      activities: createCertificateActivities({ requests: stores.requests, users: stores.users, ca, mailer }),
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

/** The domain's dependencies over this runtime and the process's one Temporal client. */
export function createDomain(runtime: Runtime, client: Client, clock: Clock = () => new Date()): DomainDeps {
  return {
    stores: runtime.stores,
    certificates: createCertificateGateway({ client, taskQueue: runtime.config.temporal.taskQueue, requests: runtime.stores.requests }),
    ca: runtime.ca,
    profiles: runtime.profiles,
    sealedSecrets: runtime.sealedSecrets,
    mailOutbox: runtime.mailOutbox,
    clock,
  };
}

export interface HttpSideOptions {
  client: Client;
  /** For /healthz. */
  connection: Connection;
  logger: Logger;
  /** Business time; the wall clock unless a test runs on Temporal's skipped time. */
  clock?: Clock;
  /** The TLS listener's certificate; without it no TLS listener is built. */
  serverCertificate?: TlsServerCertificate;
  web?: Pick<WebDeps, 'idleTimeoutMs' | 'lockout' | 'loginAttemptsPerMinute'>;
}

export interface HttpSide {
  domain: DomainDeps;
  /** Health, the support API, the user's pages, CRLs: not yet listening. */
  app: Express;
  /** Renewal and the portal gate under TLS client authentication: not yet listening. */
  tlsServer?: https.Server;
}

/** The HTTP side of certflow: the plain app and the TLS listener, on one domain. */
export async function createHttpSide(runtime: Runtime, o: HttpSideOptions): Promise<HttpSide> {
  const domain = createDomain(runtime, o.client, o.clock);
  const { config } = runtime;
  const webDeps: WebDeps = { ...domain, ...o.web, support: config.support, sessionSecret: config.sessionSecret, logger: o.logger };
  const app = createApp({
    db: runtime.db,
    temporal: o.connection,
    logger: o.logger,
    routers: [createSupportRouter({ ...domain, apiTokens: config.apiTokens }), createWebRouter(webDeps)],
    renderErrorPage,
    processName: config.processName,
  });
  const tlsServer = o.serverCertificate ? await createTlsServer({ ...webDeps, serverCertificate: o.serverCertificate }) : undefined;
  return { domain, app, tlsServer };
}
