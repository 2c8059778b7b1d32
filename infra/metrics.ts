// Prometheus metrics of one certflow process: Node's own (CPU, memory, event loop, GC) and certflow's, in one
// registry built by the composition root and handed to whatever records into it (never prom-client's global one,
// so every runtime — and every test — has its own).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PROFILES } from '../workflows/definitions';
import { withTimeout } from './timeout';

export type HttpListener = 'http' | 'tls';

export type HttpRequestDuration = Histogram<'listener' | 'method' | 'route' | 'status_class'>;

export interface CertflowMetrics {
  registry: Registry;
  /** Seconds from request to response, by listener, method, Express route pattern and status class. */
  httpRequestDuration: HttpRequestDuration;
  /** New certificates signed (an idempotent re-read of one already signed is not counted). */
  certificatesIssued: Counter<'profile'>;
  /** Certificates newly marked revoked, by RFC 5280 reason. */
  certificatesRevoked: Counter<'profile' | 'reason'>;
  /** Keys of newly signed certificates, by algorithm and source: `pool` (pre-generated) or `generated` (on demand). */
  issuanceKeys: Counter<'algorithm' | 'source'>;
  /** Mails the SMTP relay accepted. */
  mailsSent: Counter<'kind'>;
  /** Mails refused for good (a 5xx for the recipient, an undeliverable address). */
  mailsFailed: Counter<'kind'>;
  /** Attempts that met a passing SMTP outage; Temporal retries them. */
  mailAttemptErrors: Counter<'kind'>;
  /** Attempts that sent a body and got no answer from the relay: the mail may or may not have been delivered. */
  mailsUnconfirmed: Counter<'kind'>;
  /** Mails sent again after such an attempt, with the same Message-ID: each is a possible duplicate. */
  mailsResentUnconfirmed: Counter<'kind'>;
}

/** What the scrape-time gauges read, each time /metrics is asked. */
export interface ScrapeSources {
  /** Outbox rows neither sent nor refused yet. */
  pendingMails(): Promise<number>;
  /** Each profile's current CRL. */
  crls(): Promise<Array<{ profile: string; thisUpdate: Date; nextUpdate: Date }>>;
  /** Unclaimed keys in the key pool, per key algorithm (absent: no pool gauge). */
  pooledKeys?(): Promise<Partial<Record<string, number>>>;
  now?: () => Date;
  /** A scrape-time read that takes longer is dropped from that scrape (default 2000 ms). */
  timeoutMs?: number;
}

export interface MetricsOptions {
  /** Node's process metrics (default true). */
  defaultMetrics?: boolean;
}

export function createMetrics(sources: ScrapeSources, options: MetricsOptions = {}): CertflowMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const now = sources.now ?? (() => new Date());
  const timeoutMs = sources.timeoutMs ?? 2000;

  const metrics: CertflowMetrics = {
    registry,
    httpRequestDuration: new Histogram({
      name: 'certflow_http_request_duration_seconds',
      help: 'HTTP request duration by listener, method, route pattern and status class',
      labelNames: ['listener', 'method', 'route', 'status_class'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    certificatesIssued: new Counter({
      name: 'certflow_certificates_issued_total',
      help: 'Certificates signed',
      labelNames: ['profile'] as const,
      registers,
    }),
    certificatesRevoked: new Counter({
      name: 'certflow_certificates_revoked_total',
      help: 'Certificates revoked, by reason',
      labelNames: ['profile', 'reason'] as const,
      registers,
    }),
    issuanceKeys: new Counter({
      name: 'certflow_issuance_keys_total',
      help: 'Keys of newly signed certificates, by algorithm and source (pool or generated on demand)',
      labelNames: ['algorithm', 'source'] as const,
      registers,
    }),
    mailsSent: new Counter({ name: 'certflow_mails_sent_total', help: 'Mails accepted by the SMTP relay, by kind', labelNames: ['kind'] as const, registers }),
    mailsFailed: new Counter({ name: 'certflow_mails_failed_total', help: 'Mails refused for good, by kind', labelNames: ['kind'] as const, registers }),
    mailAttemptErrors: new Counter({
      name: 'certflow_mail_attempt_errors_total',
      help: 'Mail attempts that met an SMTP outage and will be retried, by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    mailsUnconfirmed: new Counter({
      name: 'certflow_mails_unconfirmed_total',
      help: 'Mail attempts that sent the body and got no answer from the relay (delivery unknown), by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    mailsResentUnconfirmed: new Counter({
      name: 'certflow_mails_resent_unconfirmed_total',
      help: 'Mails sent again after an unconfirmed attempt, with the same Message-ID (possible duplicates), by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
  // A zero per profile from the start, so rate() sees the first issuance.
  for (const profile of PROFILES) metrics.certificatesIssued.labels({ profile }).inc(0);

  // A read that fails or hangs drops its gauge from this scrape rather than failing the whole of /metrics.
  const readOrReset = async <T>(gauge: Gauge<string>, read: () => Promise<T>, set: (value: T) => void, unknown?: () => void) => {
    try {
      const value = await withTimeout(read(), timeoutMs);
      gauge.reset();
      set(value);
    } catch {
      gauge.reset();
      unknown?.();
    }
  };

  new Gauge({
    name: 'certflow_mail_outbox_pending',
    help: 'Mails in the outbox neither sent nor refused yet (NaN when the database cannot say)',
    registers,
    async collect() {
      // A gauge without labels always shows a value: NaN says "unknown" where 0 would say "all sent".
      await readOrReset(this, sources.pendingMails, (n) => this.set(n), () => this.set(NaN));
    },
  });

  const pooledKeys = sources.pooledKeys;
  if (pooledKeys) {
    new Gauge({
      name: 'certflow_key_pool_keys',
      help: 'Pre-generated keys waiting in the key pool, by key algorithm (shared by every process on the database)',
      labelNames: ['algorithm'] as const,
      registers,
      async collect() {
        await readOrReset(this, pooledKeys, (counts) => {
          for (const [algorithm, n] of Object.entries(counts)) this.set({ algorithm }, n ?? 0);
        });
      },
    });
  }

  // Both CRL gauges are collected in the same scrape: one read of the CRLs serves both.
  let crlRead: Promise<Awaited<ReturnType<ScrapeSources['crls']>>> | undefined;
  const crls = () => (crlRead ??= sources.crls().finally(() => (crlRead = undefined)));
  /** A per-profile CRL gauge: seconds from `now` computed from each profile's current CRL. */
  const crlGauge = (name: string, help: string, seconds: (crl: Awaited<ReturnType<ScrapeSources['crls']>>[number], nowMs: number) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['profile'] as const,
      registers,
      async collect() {
        await readOrReset(this, crls, (list) => {
          for (const crl of list) this.set({ profile: crl.profile }, seconds(crl, now().getTime()));
        });
      },
    });
  crlGauge('certflow_crl_age_seconds', "Seconds since the current CRL's thisUpdate, by profile", (crl, t) => (t - crl.thisUpdate.getTime()) / 1000);
  crlGauge(
    'certflow_crl_next_update_seconds',
    "Seconds until the current CRL's nextUpdate (negative once overdue), by profile",
    (crl, t) => (crl.nextUpdate.getTime() - t) / 1000,
  );
  return metrics;
}
