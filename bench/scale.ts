// Benchmark: N live certificates on the embedded default (issue 12 item 4). A previous CA made here stands for the
// bank's old CA; its N certificates come in through the migration import (`POST /api/v1/imports/certificate`), each an
// open workflow waiting for its T-30 timer; then, with all N alive: memory, database sizes, the support lists and
// search over N, and a CRL of N/10 revoked entries. Baseline in the same run: trivial workflows through the same worker.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import v8 from 'node:v8';
import type { Knex } from 'knex';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createPkiStore } from '../engines/pki';
import { crlSerials } from '../engines/pki/crl';
import { createTestPreviousCa } from '../test/support/previous-ca';
import { startEmbeddedStack, type EmbeddedStack } from './embedded';
import { inParallel, percentile, registrationOf } from './lifecycle-driver';
import { openLoop } from './open-loop';
import { startSmtpSink, type SmtpSink } from './smtp-sink';

const N = Number(process.argv[2] ?? process.env.BENCH_SCALE_N ?? 10_000);
// Imports at once: enough to keep the API, SQLite and the Temporal server busy on every core.
const IN_FLIGHT = Number(process.env.BENCH_SCALE_IN_FLIGHT ?? 4 * os.cpus().length);
// A rate needs no more than this many trivial workflows to be measured.
const BASELINE_N = Number(process.env.BENCH_SCALE_BASELINE_N ?? Math.min(N, 2000));
// Requests per list query (each a separate closed-loop measurement, 4 at once).
const QUERY_REPEAT = Number(process.env.BENCH_SCALE_QUERIES ?? 100);
const REVOKED = Math.floor(N / 10);
const PROFILE = 'kdanshinnet' as const;
const DAY = 86_400_000;

const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const log = (line: string) => console.error(`[bench:scale ${elapsed()}] ${line}`);
const round = (n: number) => Math.round(n * 100) / 100;
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
/** Where this process's memory is: V8's heap (workflow contexts, JavaScript) and what lives outside it. */
const heapOf = () => { const m = process.memoryUsage(); return `heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB, external ${mb(m.external)} MB`; };

/** The i-th certificate's registration: organisations and mail domains vary so the searches have something to tell apart. */
function registrationAt(i: number) {
  const base = registrationOf('scale', i);
  return { ...base, organization: `company${i % 50}`, email: `${base.userId}@bank${i % 20}.example.jp` };
}

/** notAfter spread over 40 days … 3 years: none within T-30 (no notice falls due during the run), some within 90 days. */
const notAfterAt = (i: number, now: number) => new Date(now + (40 + ((i * 7919) % 1055)) * DAY);

/** Resident set size of a process, from /proc (bytes). */
function rssOf(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) * 1024;
}

/** CPU time (user + system) of a process so far, in ms. */
function cpuMsOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100 on Linux)
}

/** The Temporal dev server: the child of this process running the `temporal` binary (embedded.ts starts it). */
function temporalServerPid(): number {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.replace(/^.*\) /, '').split(' ')[1]);
      if (ppid === process.pid && fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'temporal') return Number(entry);
    } catch {
      // A process that ended while we looked.
    }
  }
  throw new Error('the Temporal dev server process was not found among this process\'s children');
}

const fileSize = (file: string) => (fs.existsSync(file) ? fs.statSync(file).size : 0);
const dbSize = (file: string) => fileSize(file) + fileSize(`${file}-wal`) + fileSize(`${file}-shm`);

/** Writes the previous CA's N certificates to a file (one JSON line each), so they are not held in the measured process. */
async function makeCertificates(file: string, now: number): Promise<{ certificatePem: string; fingerprint: string }> {
  const previous = await createTestPreviousCa('Bench Old Client CA', new Date(now));
  const out = fs.createWriteStream(file);
  const batch = 200;
  for (let from = 0; from < N; from += batch) {
    const lines = await Promise.all(Array.from({ length: Math.min(batch, N - from) }, async (_, k) => {
      const i = from + k;
      const r = registrationAt(i);
      const issued = await previous.issue({ userId: r.userId, organization: r.organization, organizationalUnits: r.organizationalUnits, notBefore: new Date(now - 400 * DAY), notAfter: notAfterAt(i, now) });
      return `${JSON.stringify({ i, certificatePem: issued.certificatePem, serial: issued.serial })}\n`;
    }));
    if (!out.write(lines.join(''))) await new Promise<void>((r) => out.once('drain', () => r()));
    if ((from / batch) % 50 === 0) log(`previous CA certificates: ${from + lines.length}/${N}`);
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { certificatePem: previous.certificatePem, fingerprint: previous.fingerprint };
}

async function* certificatesFrom(file: string): AsyncGenerator<{ i: number; certificatePem: string; serial: string }> {
  for await (const line of readline.createInterface({ input: fs.createReadStream(file) })) if (line) yield JSON.parse(line);
}

async function api(stack: EmbeddedStack, method: string, route: string, body?: unknown): Promise<{ status: number; json: unknown; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${stack.target.baseUrl}/api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${stack.target.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const ms = performance.now() - started;
  return { status: res.status, json: text ? JSON.parse(text) : undefined, ms };
}

/** Imports every certificate of the file, IN_FLIGHT at once; resolves once every request's projection says active. */
async function importAll(stack: EmbeddedStack, file: string, serverPid: number) {
  const latencies: number[] = [];
  const cpuBefore = { bench: cpuMsOf(process.pid), server: cpuMsOf(serverPid) };
  let peakRss = 0;
  let done = 0;
  const started = performance.now();
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 250);
  const progress = setInterval(() => {
    const s = (performance.now() - started) / 1000;
    log(`imported ${done}/${N} (${round(done / s)}/s), worker RSS ${mb(process.memoryUsage().rss)} MB (${heapOf()}), server RSS ${mb(rssOf(serverPid))} MB`);
  }, 10_000);
  try {
    const source = certificatesFrom(file);
    let failure: Error | undefined;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      for (;;) {
        const next = await source.next();
        if (next.done || failure) return;
        const { i, certificatePem } = next.value;
        const res = await api(stack, 'POST', '/imports/certificate', { ...registrationAt(i), certificatePem });
        if (res.status !== 201) {
          failure = new Error(`import ${i}: HTTP ${res.status} ${JSON.stringify(res.json)}`);
          throw failure;
        }
        latencies.push(res.ms);
        done++;
      }
    }));
    const posted = (performance.now() - started) / 1000;
    // Alive: every workflow has projected itself as active (its first activity).
    for (;;) {
      const row = await stack.runtime.db('requests').where({ kind: 'imported', status: 'active' }).count({ n: '*' }).first();
      if (Number(row?.n ?? 0) >= N) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const cpu = { bench: cpuMsOf(process.pid) - cpuBefore.bench, server: cpuMsOf(serverPid) - cpuBefore.server };
    return { seconds, posted, latencies, peakRss, cpu };
  } finally {
    clearInterval(sampler);
    clearInterval(progress);
  }
}

/** One list query asked QUERY_REPEAT times, 4 at once, each time with the parameters `route(k)` gives; sorted latencies. */
async function timeQuery(stack: EmbeddedStack, route: (k: number) => string): Promise<{ p50: number; p99: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  await inParallel([...Array(QUERY_REPEAT).keys()], 4, async (k) => {
    const res = await api(stack, 'GET', route(k));
    if (res.status !== 200) throw new Error(`GET ${route(k)}: HTTP ${res.status} ${JSON.stringify(res.json)}`);
    times.push(res.ms);
    rows += (res.json as unknown[]).length;
  });
  times.sort((a, b) => a - b);
  return { p50: round(percentile(times, 50)), p99: round(percentile(times, 99)), rows: Math.round(rows / QUERY_REPEAT) };
}

/** SQLite's plan for a query as the store sent it, on one line: a full scan shows as `SCAN r` or `SCAN requests`. */
async function planOf(stack: EmbeddedStack, query: { sql: string; bindings: readonly unknown[] }): Promise<string> {
  const rows = (await stack.runtime.db.raw(`explain query plan ${query.sql}`, query.bindings as Knex.RawBinding[])) as Array<{ detail: string }>;
  return rows.map((r) => r.detail).join('; ');
}

async function lists(stack: EmbeddedStack, serials: string[]) {
  const now = Date.now();
  const pick = (k: number) => (k * 7919) % N;
  const queries: Array<[string, (k: number) => string]> = [
    ['expiring within 90 days', (k) => `/certificates/expiring?days=${60 + (k % 60)}`],
    ['awaiting retrieval for 7 days', (k) => `/requests/awaiting-retrieval?days=${7 + (k % 7)}`],
    ['admin list: active, newest first', () => `/certificates?status=active&limit=100`],
    ['admin list: expiring before a date', (k) => `/certificates?expiringBefore=${new Date(now + (60 + k) * DAY).toISOString()}&limit=100`],
    ['search by userId', (k) => `/search?field=userId&text=${registrationAt(pick(k)).userId}`],
    ['search by serial', (k) => `/search?field=serial&text=${serials[pick(k) % serials.length]}`],
    ['search by e-mail prefix', (k) => `/search?field=email&text=${encodeURIComponent(registrationAt(pick(k)).userId.slice(0, 9))}`],
    ['search by organisation', (k) => `/search?field=organization&text=company${k % 50}`],
    // The console's find box: one text against every field, 200 rows (api/console/pages.ts).
    ['console search, all fields', (k) => `/search?text=${registrationAt(pick(k)).userId}&limit=200`],
  ];
  const results: Record<string, { p50: number; p99: number; rows: number }> = {};
  for (const [name, route] of queries) {
    // Asked once first: its SQL as the store sends it, for the plan, and a warm start for the timed requests.
    const sent: Array<{ sql: string; bindings: readonly unknown[] }> = [];
    const record = (q: { sql: string; bindings?: readonly unknown[] }) => { if (/^select/i.test(q.sql)) sent.push({ sql: q.sql, bindings: q.bindings ?? [] }); };
    stack.runtime.db.on('query', record);
    try {
      await api(stack, 'GET', route(0));
    } finally {
      stack.runtime.db.off('query', record);
    }
    // The list's own query: the last select the route made (the ones before read the session's operator, if any).
    if (sent.length) log(`plan, ${name}: ${await planOf(stack, sent[sent.length - 1]!)}`);
    results[name] = await timeQuery(stack, route);
    log(`${name}: p50 ${results[name].p50} ms, p99 ${results[name].p99} ms (${results[name].rows} rows, ${QUERY_REPEAT} requests, 4 at once)`);
  }
  return results;
}

/**
 * N/10 revoked certificates of the profile's CA, written through the PKI engine's store (a fresh serial each, the
 * PEM of one certificate the CA really issued: the CRL reads serial, date and reason only); the last one revoked
 * through ca.revoke, which re-signs the CRL with all of them, as each revocation does in production.
 */
async function crl(stack: EmbeddedStack) {
  const { runtime } = stack;
  const store = createPkiStore(runtime.db);
  const now = new Date();
  const real = await runtime.ca.issue({
    requestId: 'scale-crl-template',
    ...registrationOf('crltemplate', 0),
    country: 'JP',
    profile: PROFILE,
    notBefore: now,
    notAfter: new Date(now.getTime() + 365 * DAY),
  });
  const template = (await store.findBySerial(real.serial))!;
  const serials: string[] = [];
  const started = performance.now();
  for (let k = 0; k < REVOKED - 1; k++) {
    const bytes = crypto.randomBytes(16);
    bytes[0] = 0x40 | (bytes[0]! & 0x3f); // positive, 16 octets: as the CA's own serials
    const serial = bytes.toString('hex');
    serials.push(serial);
    await store.insert({ ...template, serial, issuanceKey: `scale-crl-${k}`, requestId: `scale-crl-${k}`, sealedKey: null, revokedAt: now, revocationReason: 'keyCompromise' });
    if (k % 2000 === 1999) log(`revoked rows written: ${k + 1}/${REVOKED}`);
  }
  log(`${REVOKED - 1} revoked rows written in ${Math.round(performance.now() - started)} ms`);
  const signStarted = performance.now();
  await runtime.ca.revoke({ serial: real.serial, reason: 'keyCompromise', revokedAt: new Date() });
  const signMs = performance.now() - signStarted;
  const url = `${stack.target.baseUrl}/crl/${PROFILE}.crl`;
  const der = Buffer.from(await (await fetch(url)).arrayBuffer());
  const entries = crlSerials(der).size;
  if (entries < REVOKED) throw new Error(`the served CRL lists ${entries} serials, ${REVOKED} were revoked`);
  log(`CRL with ${entries} entries: re-signed by the revocation in ${Math.round(signMs)} ms, ${der.length} bytes`);
  const served = await openLoop({ url, ratePerSecond: 200, seconds: 5, connections: 20 });
  log(`CRL served: p50 ${served.p50} ms, p99 ${served.p99} ms at ${served.ratePerSecond}/s, ${served.errors} errors`);
  return { signMs, bytes: der.length, entries, served };
}

async function main(): Promise<void> {
  // The SDK's own SIGINT handling would drain the workers under the stack's feet: this bench's handler stops everything in order.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-bench-scale-'));
  let sink: SmtpSink | undefined;
  let stack: EmbeddedStack | undefined;
  let baselineWorker: Worker | undefined;
  let baselineRunning: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const cleanUp = () => (closing ??= (async () => {
    baselineWorker?.shutdown();
    await baselineRunning?.catch(() => undefined);
    await stack?.close().catch((err) => {
      log(`closing the stack: ${err}`);
      fs.rmSync(stack!.runtime.config.dataDir, { recursive: true, force: true });
    });
    await sink?.stop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { log(`${signal}: stopping the servers`); void cleanUp().finally(() => process.exit(130)); });
  }

  try {
    const now = Date.now();
    log(`N=${N}, ${IN_FLIGHT} imports in flight, ${os.cpus().length} cores, baseline ${BASELINE_N} workflows, ${REVOKED} revoked for the CRL, V8 heap limit ${mb(v8.getHeapStatistics().heap_size_limit)} MB (CERTFLOW_HEAP_MB)`);
    const file = path.join(work, 'certificates.jsonl');
    const previousCa = await makeCertificates(file, now);
    log(`${N} certificates of the previous CA written`);

    sink = await startSmtpSink();
    stack = await startEmbeddedStack({ name: 'bench-scale', smtpPort: sink.port });
    const serverPid = temporalServerPid();
    const baselineQueue = `${stack.taskQueue}-baseline`;
    baselineWorker = await Worker.create({
      connection: stack.nativeConnection,
      taskQueue: baselineQueue,
      workflowsPath: require.resolve('./workflows/baseline'),
      activities: { async noop() {} },
    });
    baselineRunning = baselineWorker.run();
    log(`stack up: workflow cache ${stack.runtime.config.temporal.workflowCacheSize}, worker RSS ${mb(process.memoryUsage().rss)} MB, server RSS ${mb(rssOf(serverPid))} MB`);

    const trusted = await api(stack, 'POST', '/previous-cas', { profile: PROFILE, certificatePem: previousCa.certificatePem });
    if (trusted.status !== 201) throw new Error(`trusting the previous CA: HTTP ${trusted.status} ${JSON.stringify(trusted.json)}`);

    // Temporal baseline: trivial workflows (one no-op activity), the same number in flight as the imports.
    const baselineCpu = { bench: cpuMsOf(process.pid), server: cpuMsOf(serverPid) };
    const started = performance.now();
    await inParallel([...Array(BASELINE_N).keys()], IN_FLIGHT, async (i) => {
      await stack!.client.workflow.execute('baselineWorkflow', { taskQueue: baselineQueue, workflowId: `bench-scale-baseline-${i}` });
    });
    const baselinePerS = BASELINE_N / ((performance.now() - started) / 1000);
    log(`baseline: ${round(baselinePerS)} workflows/s (${BASELINE_N}, ${IN_FLIGHT} in flight); CPU per workflow: this process ${round((cpuMsOf(process.pid) - baselineCpu.bench) / BASELINE_N)} ms, Temporal server ${round((cpuMsOf(serverPid) - baselineCpu.server) / BASELINE_N)} ms`);

    const imported = await importAll(stack, file, serverPid);
    const importPerS = N / imported.seconds;
    log(`imported ${N} in ${round(imported.seconds)} s (${round(importPerS)}/s; all POSTs answered after ${round(imported.posted)} s): import ÷ baseline ${round(importPerS / baselinePerS)}`);
    log(`import POST: p50 ${Math.round(percentile(imported.latencies, 50))} ms, p99 ${Math.round(percentile(imported.latencies, 99))} ms; CPU per certificate: this process (API, domain, SQLite, worker, driver) ${round(imported.cpu.bench / N)} ms, Temporal server ${round(imported.cpu.server / N)} ms`);

    // All N alive: let the worker's cache settle before reading memory.
    await new Promise((r) => setTimeout(r, 5000));
    const workerRss = process.memoryUsage().rss;
    const serverRss = rssOf(serverPid);
    const dataDir = stack.runtime.config.dataDir;
    const certflowDb = dbSize(path.join(dataDir, 'certflow.sqlite'));
    const temporalDb = dbSize(path.join(dataDir, 'temporal.sqlite'));
    const open = await stack.client.workflow.count(`TaskQueue = '${stack.taskQueue}' AND ExecutionStatus = 'Running'`).catch(() => undefined);
    log(`with ${N} alive${open ? ` (${open.count} running workflows)` : ''}: worker RSS ${mb(workerRss)} MB (peak ${mb(Math.max(imported.peakRss, workerRss))} MB; ${heapOf()}), Temporal server RSS ${mb(serverRss)} MB`);
    log(`database: certflow ${mb(certflowDb)} MB (${round(certflowDb / N)} bytes per certificate), Temporal ${mb(temporalDb)} MB (${round(temporalDb / N)} bytes per certificate)`);

    const serials = (await stack.runtime.db('requests').where({ kind: 'imported' }).limit(1000).pluck('serial')) as string[];
    const listed = await lists(stack, serials);
    const listP99 = Math.max(...Object.values(listed).map((q) => q.p99));
    const revoked = await crl(stack);

    const workerRssMb = Math.round(Math.max(imported.peakRss, workerRss) / 1024 / 1024);
    log(`targets: worker RSS < 1024 MB ${workerRssMb < 1024 ? 'met' : 'NOT met'} (${workerRssMb}); list p99 < 100 ms ${listP99 < 100 ? 'met' : 'NOT met'} (${listP99}); CRL of ${revoked.entries} signed < 1 s ${revoked.signMs < 1000 ? 'met' : 'NOT met'} (${Math.round(revoked.signMs)} ms)${revoked.entries < 10_000 ? ' — the target is for 10,000 entries (N = 100,000)' : ''}`);
    console.log(JSON.stringify({
      bench: 'scale',
      n: N,
      import_per_s: round(importPerS),
      baseline_per_s: round(baselinePerS),
      worker_rss_mb: workerRssMb,
      server_rss_mb: Math.round(serverRss / 1024 / 1024),
      db_mb: mb(certflowDb),
      list_p99_ms: listP99,
      crl_sign_ms: Math.round(revoked.signMs),
    }));
  } finally {
    await cleanUp();
  }
}

// Exit once done: a handle a library left open must not keep the bench (and nothing else) running.
main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
