// The lifecycle benchmark's work, shared by bench:lifecycle, bench:cluster and the cluster's fault tests: N users
// registered through the support API and driven to active through Temporal, then counted (active, lost, duplicates).
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { issuanceKey } from '../activities/certificate-activities';
import type { CertificateAuthority } from '../engines/pki';
import type { Db } from '../infra/db';
import { downloadConfirmedSignal, retrieveKeyUpdate } from '../workflows/definitions';

export interface LifecycleTarget {
  /** Where the support API answers (`<baseUrl>/api/v1`): certflow's own listener, or nginx in front of the web processes. */
  baseUrl: string;
  adminToken: string;
  /** A client of the Temporal Server the workers poll. */
  client: Client;
  /** Builds the PKCS#12 as the download page does (a CA on the same database). */
  ca: Pick<CertificateAuthority, 'buildPkcs12'>;
  /** certflow's database: the projection says when a request is active. */
  db: Db;
}

export interface DriveOptions {
  n: number;
  /** Users driven at once. */
  inFlight: number;
  /** User IDs are the prefix and a six-digit number (prefix + 6 ≤ 64 characters, letters and digits). */
  prefix: string;
  /**
   * Rides out an outage (the Temporal Server restarting): a registration the API refuses with 503 is registered again
   * (the API's contract: a 503 kept nothing), and a Temporal call that fails for want of the server is made again
   * (the update by its ID, so a retry never runs it twice; the signal is idempotent). Off: the first error ends the run.
   */
  rideOutOutages?: boolean;
  /** Registers every user first (not timed into the stages after it), so the key retrievals run `inFlight` at once on their own. */
  registerFirst?: boolean;
  /** With registerFirst: awaited after the registrations, before the first key retrieval (e.g. their mails delivered). */
  afterRegistration?(): Promise<void>;
  /** After each user reaches active, with how many have. */
  onActive?(done: number): void;
  /** After each registration the API refused with 503, with how many it has refused. */
  onRefusedRegistration?(refused: number): void;
}

export type Stage = 'register' | 'retrieveKey' | 'pkcs12' | 'downloadToActive';

export interface DrivenUser {
  userId: string;
  email: string;
  idAdminEmail: string;
  requestId: string;
  workflowId: string;
}

export interface DriveResult {
  users: DrivenUser[];
  seconds: number;
  certsPerS: number;
  /** Registration to active, per user, sorted (ms). */
  latenciesMs: number[];
  /** Wall time of each stage, per user, sorted (ms). */
  stages: Record<Stage, number[]>;
  /** What the Submit button waits for, per user, sorted (ms): retrieveKey and the PKCS#12 together, as the page does them. */
  submitMs: number[];
  /** Registrations the API answered 503 (nothing kept), each registered again. */
  refusedRegistrations: number;
  /** Temporal calls made again after failing for want of the server. */
  retriedTemporalCalls: number;
}

export const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

export async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => { while (next < items.length) await work(items[next++]!); }));
}

export function registrationOf(prefix: string, i: number) {
  const userId = `${prefix}${String(i).padStart(6, '0')}`;
  return {
    userId,
    profile: 'kdanshinnet',
    email: `${userId}@bank.example.jp`,
    idAdminEmail: `admin.${userId}@bank.example.jp`,
    organization: 'sampleCompany',
    organizationalUnits: ['div1-1-1', 'div1-1', 'div1'],
    subscriberId: `S${i}`,
  };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Register → retrieveKey → PKCS#12 → download confirmed → the projection says active, for N users, `inFlight` at once. */
export async function driveToActive(target: LifecycleTarget, o: DriveOptions): Promise<DriveResult> {
  const outageDeadlineMs = 5 * 60_000;
  let refusedRegistrations = 0;
  let retriedTemporalCalls = 0;
  /** A Temporal call, made again while the server is away; a refusal by the workflow itself is not an outage. */
  const temporalCall = async <T>(call: () => Promise<T>): Promise<T> => {
    const giveUp = Date.now() + outageDeadlineMs;
    for (;;) {
      try {
        return await call();
      } catch (err) {
        if (!o.rideOutOutages || err instanceof WorkflowUpdateFailedError || Date.now() > giveUp) throw err;
        retriedTemporalCalls++;
        await pause(500);
      }
    }
  };

  const waiting = new Map<string, () => void>();
  let polling = false;
  const poller = setInterval(async () => {
    if (waiting.size === 0 || polling) return;
    polling = true;
    try {
      const active = await target.db('requests').whereIn('request_id', [...waiting.keys()]).andWhere({ status: 'active' }).pluck('request_id');
      for (const id of active) { waiting.get(id)?.(); waiting.delete(id); }
    } catch {
      // The database away for a moment: the next tick asks again.
    } finally {
      polling = false;
    }
  }, 100);

  const users: DrivenUser[] = [];
  const latenciesMs: number[] = [];
  const stages: Record<Stage, number[]> = { register: [], retrieveKey: [], pkcs12: [], downloadToActive: [] };
  const submitMs: number[] = [];
  const lap = (stage: Stage, since: number) => { const now = performance.now(); stages[stage].push(now - since); return now; };

  const register = async (body: ReturnType<typeof registrationOf>): Promise<{ requestId: string; workflowId: string }> => {
    const giveUp = Date.now() + outageDeadlineMs;
    for (;;) {
      const res = await fetch(`${target.baseUrl}/api/v1/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${target.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status === 201) return (await res.json()) as { requestId: string; workflowId: string };
      const text = await res.text();
      if (res.status === 503 && o.rideOutOutages && Date.now() < giveUp) {
        o.onRefusedRegistration?.(++refusedRegistrations);
        await pause(500);
        continue;
      }
      throw new Error(`registration of ${body.userId}: HTTP ${res.status} ${text}`);
    }
  };

  let done = 0;
  const started = performance.now();
  try {
    const registered = new Map<number, Promise<{ requestId: string; workflowId: string }>>();
    if (o.registerFirst) {
      await inParallel([...Array(o.n).keys()], o.inFlight, async (i) => {
        const done = register(registrationOf(o.prefix, i));
        registered.set(i, done);
        await done;
      });
      await o.afterRegistration?.();
    }
    await inParallel([...Array(o.n).keys()], o.inFlight, async (i) => {
      const t0 = performance.now();
      const body = registrationOf(o.prefix, i);
      const { requestId, workflowId } = await (registered.get(i) ?? register(body));
      users.push({ userId: body.userId, email: body.email, idAdminEmail: body.idAdminEmail, requestId, workflowId });
      let t = lap('register', t0);
      const submitted = t;
      const handle = target.client.workflow.getHandle(workflowId);
      // One update ID per request: a retry after an outage attaches to the same update instead of running it again.
      await temporalCall(() => handle.executeUpdate(retrieveKeyUpdate, { updateId: `bench-retrieve-${requestId}` }));
      t = lap('retrieveKey', t);
      await target.ca.buildPkcs12(issuanceKey(requestId, 1), `Bench-${i}-pass`, { userId: body.userId });
      t = lap('pkcs12', t);
      submitMs.push(t - submitted);
      const active = new Promise<void>((resolve) => waiting.set(requestId, resolve));
      await temporalCall(() => handle.signal(downloadConfirmedSignal));
      await active;
      lap('downloadToActive', t);
      latenciesMs.push(performance.now() - t0);
      o.onActive?.(++done);
    });
  } finally {
    clearInterval(poller);
  }
  const seconds = (performance.now() - started) / 1000;
  latenciesMs.sort((a, b) => a - b);
  for (const times of [...Object.values(stages), submitMs]) times.sort((a, b) => a - b);
  return { users, seconds, certsPerS: o.n / seconds, latenciesMs, stages, submitMs, refusedRegistrations, retriedTemporalCalls };
}

export interface OutcomeCounts {
  requests: number;
  active: number;
  /** Requests not active, and expected mails that never arrived. */
  lost: { requests: number; mails: number };
  duplicates: {
    /** Requests with more than one issued certificate. */
    certificates: number;
    /** Serials issued more than once. */
    serials: number;
    /** Mails beyond the expected ones with a Message-ID of their own: a mail sent twice as two mails. */
    mails: number;
    /** Deliveries of a Message-ID already delivered: certflow's documented limit (a worker killed between SMTP's 250 and the outbox update re-sends, with the same Message-ID). */
    sameMessageIdDeliveries: number;
  };
  mails: { expected: number; distinct: number; deliveries: number };
}

/** A mail as an SMTP listener saw it: its envelope recipients and its Message-ID. */
export interface CountedMail {
  to: string[];
  messageId: string;
  /** When the sink had the whole message (epoch ms). */
  at?: number;
}

/** Counts what a run left: every request active, one certificate each, each user's `mailsPerUser` mails once. */
export async function countOutcomes(db: Db, users: DrivenUser[], mails: CountedMail[], mailsPerUser = 3): Promise<OutcomeCounts> {
  const ids = users.map((u) => u.requestId);
  const chunks = Array.from({ length: Math.ceil(ids.length / 500) }, (_, i) => ids.slice(i * 500, i * 500 + 500));
  let active = 0;
  const perRequest = new Map<string, number>();
  const serials = new Map<string, number>();
  for (const chunk of chunks) {
    active += Number((await db('requests').whereIn('request_id', chunk).andWhere({ status: 'active' }).count({ n: '*' }).first())?.n ?? 0);
    const rows = (await db('issued_certificates').whereIn('request_id', chunk).select('request_id', 'serial')) as Array<{ request_id: string; serial: string }>;
    for (const r of rows) {
      perRequest.set(r.request_id, (perRequest.get(r.request_id) ?? 0) + 1);
      serials.set(r.serial, (serials.get(r.serial) ?? 0) + 1);
    }
  }
  const addresses = new Set(users.flatMap((u) => [u.email, u.idAdminEmail]));
  const ours = mails.filter((m) => m.to.some((t) => addresses.has(t)));
  const byMessageId = new Map<string, number>();
  for (const m of ours) byMessageId.set(m.messageId, (byMessageId.get(m.messageId) ?? 0) + 1);
  const expected = mailsPerUser * users.length;
  // Per user, so one user's missing mail is not hidden by another's extra one.
  let missing = 0;
  let extra = 0;
  for (const u of users) {
    const distinct = new Set(ours.filter((m) => m.to.includes(u.email) || m.to.includes(u.idAdminEmail)).map((m) => m.messageId)).size;
    missing += Math.max(0, mailsPerUser - distinct);
    extra += Math.max(0, distinct - mailsPerUser);
  }
  return {
    requests: users.length,
    active,
    lost: { requests: users.length - active, mails: missing },
    duplicates: {
      certificates: [...perRequest.values()].filter((n) => n > 1).length,
      serials: [...serials.values()].filter((n) => n > 1).length,
      mails: extra,
      sameMessageIdDeliveries: ours.length - byMessageId.size,
    },
    mails: { expected, distinct: byMessageId.size, deliveries: ours.length },
  };
}
