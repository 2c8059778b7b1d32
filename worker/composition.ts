// The composition root: builds every service certflow runs on from the typed configuration, once per process —
// database, stores, engines, activities, the domain and the HTTP servers. `npm start`, the benches and the test
// harnesses all assemble certflow here.
import type http from 'node:http';
import type https from 'node:https';
import type { Client, Connection } from '@temporalio/client';
import type { Express } from 'express';
import type { Transporter } from 'nodemailer';
import { createApp } from '../api/app';
import { temporalCheck, type ReadinessCheck, type ReadinessChecks, type TemporalPing } from '../api/ops';
import { createSupportRouter } from '../api/support/router';
import { createTlsServer } from '../api/tls/server';
import type { TlsServerCertificate } from '../api/tls/server-certificate';
import { renderErrorPage } from '../api/web/pages-errors';
import type { WebDeps } from '../api/web/page-kit';
import { createRateLimitStore } from '../api/web/rate-limit-store';
import { createWebRouter } from '../api/web/router';
import { createSessionStore } from '../api/web/session';
import { createCertificateActivities, type LifecycleMailer } from '../activities/certificate-activities';
import { createImportActivities } from '../activities/import-activities';
import { createLifecycleMailer } from '../activities/lifecycle-mailer';
import { createCertificateGateway, createImportGateway, registerImportLine, type Clock, type DomainDeps } from '../domain';
import {
  createMailActivities,
  createMailOutboxStore,
  createMailRenderer,
  createSealedSecrets,
  sealedSecretRetentionMs,
  createSmtpTransport,
  verifySmtp,
  type MailOutboxStore,
  type SealedSecrets,
} from '../engines/mail';
import {
  buildProfiles,
  createCertificateAuthority,
  createKeyPool,
  createPkiStore,
  createPreviousCas,
  type CertificateAuthority,
  type CertificateProfile,
  type KeyPool,
  type PreviousCas,
} from '../engines/pki';
import { createDb, migrateToLatest, ping, type Db } from '../infra/db';
import { createReachabilityProbe } from '../infra/reachability';
import type { Logger } from '../infra/logger';
import { createMetrics, type CertflowMetrics } from '../infra/metrics';
import { chainUnchainedAuditRows, createStores, deriveAuditKey, type Stores } from '../stores';
import { PROFILES, type CertificateActivities, type Profile } from '../workflows/definitions';
import type { ImportActivities } from '../workflows/import-definitions';
import type { Config } from './config';

export interface Runtime {
  config: Config;
  db: Db;
  stores: Stores;
  ca: CertificateAuthority;
  previousCas: PreviousCas;
  /** The shared key pool the CA claims from; a process running the worker starts its refill (keyPool.start). */
  keyPool: KeyPool;
  profiles: Record<Profile, CertificateProfile>;
  sealedSecrets: SealedSecrets;
  mailOutbox: MailOutboxStore;
  /** The certificate workflow's and the import workflow's. */
  activities: CertificateActivities & ImportActivities;
  /** The lifecycle mails through the mail engine; the activities send with it, and support's resend too. */
  mailer: LifecycleMailer;
  /** This process's Prometheus registry and certflow's metrics in it (served at /metrics). */
  metrics: CertflowMetrics;
  /** Runs `stop` when the runtime closes, before its database does (timers of what was built on it). */
  onClose(stop: () => void | Promise<void>): void;
  close(): Promise<void>;
}

/** Migrates to the latest schema with what migrations need from this installation (the audit chain's key). */
export async function migrateInstallation(db: Db, config: Pick<Config, 'dataKey'>): Promise<void> {
  const auditKey = deriveAuditKey(config.dataKey);
  await migrateToLatest(db, { context: { chainAuditRows: (trx) => chainUnchainedAuditRows(trx, auditKey) } });
}

/** Everything below the entry points: database (migrated), stores, CA (created if missing), mail, the activities and this process's metrics. */
export async function createRuntime(config: Config, options: { transport?: Transporter; now?: Date } = {}): Promise<Runtime> {
  const db = createDb(config.db);
  try {
    await migrateInstallation(db, config);
    const stores = createStores(db, { auditKey: deriveAuditKey(config.dataKey) });
    const profiles = buildProfiles({ publicUrl: config.publicUrl });
    // The engines' stores, each built once; the mail activities and the domain share the sealed secrets and the outbox.
    const pkiStore = createPkiStore(db);
    // An enrollment password not mailed by the end of its guide's validity (and a day) is of no more use: wiped.
    const longestGuideDays = Math.max(...PROFILES.map((p) => profiles[p].guideValidityDays));
    const sealedSecrets = createSealedSecrets({ db, dataKey: config.dataKey, retentionMs: sealedSecretRetentionMs(longestGuideDays) });
    const mailOutbox = createMailOutboxStore(db);
    const keyAlgorithms = [...new Set(PROFILES.map((p) => profiles[p].keyAlgorithm))];
    const keyPool = createKeyPool({ store: pkiStore, dataKey: config.dataKey, size: config.keyPool.size, algorithms: keyAlgorithms });
    const metrics = createMetrics({
      pendingMails: () => mailOutbox.countPending(),
      crls: async () => (await Promise.all(PROFILES.map((p) => pkiStore.currentCrl(p)))).filter((crl) => crl !== undefined),
      pooledKeys: async () => {
        const counts = await pkiStore.countPooledKeys();
        return Object.fromEntries(keyAlgorithms.map((a) => [a, counts[a] ?? 0]));
      },
    });
    const ca = createCertificateAuthority({
      store: pkiStore,
      caDir: config.ca.dir,
      caPassphrase: config.ca.passphrase,
      caKeyStore: config.ca.keyStore,
      dataKey: config.dataKey,
      profiles,
      metrics,
      keyPool,
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
      unconfirmedResendAfterMs: config.smtp.unconfirmedResendAfterMs,
      metrics,
    });
    const mailer = createLifecycleMailer({ sendMail: mail.sendMail, profiles, publicUrl: config.publicUrl, tlsPublicUrl: config.tlsPublicUrl });
    // The refill stops before the database closes (close runs the stops first).
    const stops: Array<() => void | Promise<void>> = [() => keyPool.stop()];
    const runtime: Runtime = {
      config,
      db,
      stores,
      ca,
      previousCas: createPreviousCas(db),
      keyPool,
      profiles,
      sealedSecrets,
      mailOutbox,
      mailer,
      activities: {
        ...createCertificateActivities({ requests: stores.requests, users: stores.users, ca, mailer }),
        // An import registers its lines by the domain's use cases, over the client of the worker running the activity.
        ...createImportActivities({ imports: stores.imports, registerLine: (line, client) => registerImportLine(createDomain(runtime, client), line) }),
      },
      metrics,
      onClose(stop) {
        stops.push(stop);
      },
      async close() {
        for (const stop of stops.splice(0).reverse()) await stop();
        if (!options.transport) transport.close();
        await db.destroy();
      },
    };
    return runtime;
  } catch (err) {
    await db.destroy();
    throw err;
  }
}

/** The domain's dependencies over this runtime and the process's one Temporal client. */
export function createDomain(runtime: Runtime, client: Client, clock: Clock = () => new Date()): DomainDeps {
  return {
    stores: runtime.stores,
    certificates: createCertificateGateway({
      client,
      taskQueue: runtime.config.temporal.taskQueue,
      requests: runtime.stores.requests,
      temporalReachable: createReachabilityProbe(temporalCheck(client.connection)),
    }),
    importWorkflows: createImportGateway({ client, taskQueue: runtime.config.temporal.taskQueue }),
    ca: runtime.ca,
    previousCas: runtime.previousCas,
    profiles: runtime.profiles,
    sealedSecrets: runtime.sealedSecrets,
    mailOutbox: runtime.mailOutbox,
    mailer: runtime.mailer,
    clock,
    dataKey: runtime.config.dataKey,
  };
}

/**
 * What /readyz checks: Temporal (getSystemInfo), the database (select 1) and the SMTP relay (connect, greeting, login),
 * each within the probe's bound. `temporal` is the client's Connection or the worker's NativeConnection. A process
 * picks the ones it depends on, e.g. a web-only process may leave out smtp (only the worker sends mail).
 */
export function readinessChecks(runtime: Runtime, temporal: TemporalPing): Record<'temporal' | 'database' | 'smtp', ReadinessCheck> {
  return {
    temporal: temporalCheck(temporal),
    database: () => ping(runtime.db),
    smtp: (timeoutMs) => verifySmtp(runtime.config.smtp, timeoutMs),
  };
}

export interface HttpSideOptions {
  client: Client;
  /** For /readyz's Temporal check. */
  connection: Connection;
  logger: Logger;
  /** Business time; the wall clock unless a test runs on Temporal's skipped time. */
  clock?: Clock;
  /** The TLS listener's certificate; without it no TLS listener is built. */
  serverCertificate?: TlsServerCertificate;
  web?: Pick<WebDeps, 'idleTimeoutMs' | 'loginThrottle' | 'loginFailuresPerMinute'>;
  /** What /readyz checks; default all of readinessChecks(runtime, connection). */
  readiness?: ReadinessChecks;
  /** Bound on each readiness check (default 2000 ms). */
  readinessTimeoutMs?: number;
}

export interface HttpSide {
  domain: DomainDeps;
  /** Liveness, readiness, metrics, the support API, the user's pages, CRLs: not yet listening. */
  app: Express;
  /** Renewal and the portal gate under TLS client authentication: not yet listening. */
  tlsServer?: https.Server;
}

/**
 * How long certflow's listeners keep an idle connection: far beyond the 4 s a proxy in front keeps it (nginx's
 * `keepalive_timeout`, scripts/cluster/nginx.ts) and any stall of a client's event loop, so the client always closes
 * first. With Node's default 5 s, a client that reuses a connection after a stall of about that long (a proxy, or a
 * test that signed a large CRL in between) sends its request on a socket certflow is closing: a POST or PUT, never
 * retried, fails.
 */
export const KEEP_ALIVE_MS = 30_000;

/** Sets KEEP_ALIVE_MS on a listener of the HTTP side (the production process and the test stacks both). */
export function keepIdleConnections<S extends http.Server | https.Server>(server: S): S {
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  return server;
}

/** The HTTP side of certflow: the plain app and the TLS listener, on one domain, both timed into runtime.metrics. */
export async function createHttpSide(runtime: Runtime, o: HttpSideOptions): Promise<HttpSide> {
  const domain = createDomain(runtime, o.client, o.clock);
  const { config, metrics } = runtime;
  // Sessions and login counts live in the database, built once here and shared by both listeners' routers.
  const sessionStore = createSessionStore(runtime.db, { logger: o.logger });
  runtime.onClose(() => sessionStore.close());
  const webDeps: WebDeps = {
    ...domain,
    ...o.web,
    support: config.support,
    sessionSecret: config.sessionSecret,
    sessionStore,
    loginAttempts: createRateLimitStore(runtime.db, 'login:'),
    secureCookies: config.publicUrl.startsWith('https:'),
    logger: o.logger,
  };
  const app = createApp({
    logger: o.logger,
    ops: { checks: o.readiness ?? readinessChecks(runtime, o.connection), registry: metrics.registry, timeoutMs: o.readinessTimeoutMs },
    requestDuration: metrics.httpRequestDuration,
    routers: [createSupportRouter({ ...domain, apiTokens: config.apiTokens }), createWebRouter(webDeps)],
    renderErrorPage,
    processName: config.processName,
    trustProxy: config.http.trustProxy,
    https: config.publicUrl.startsWith('https:'),
  });
  const tlsServer = o.serverCertificate
    ? keepIdleConnections(await createTlsServer({
        ...webDeps,
        serverCertificate: o.serverCertificate,
        requestDuration: metrics.httpRequestDuration,
        console: { temporalUiUrl: config.temporal.uiUrl, temporalNamespace: config.temporal.namespace },
      }))
    : undefined;
  return { domain, app, tlsServer };
}
