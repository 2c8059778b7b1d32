// Benchmark: N users registered through the HTTP API and driven to active on the Temporal dev server, against the
// Temporal baseline (N trivial workflows with one no-op activity) and the crypto ceiling (native keygen on all cores).
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { SMTPServer } from 'smtp-server';
import { issuanceKey } from '../activities/certificate-activities';
import { createLogger } from '../infra/logger';
import { downloadConfirmedSignal, retrieveKeyUpdate } from '../workflows/definitions';
import { loadConfig } from '../worker/config';
import { createHttpSide, createRuntime } from '../worker/composition';
import { createCertflowWorker } from '../worker/worker';
import { startTemporalDevServer } from '../worker/temporal-dev-server';
import { freePort } from '../infra/ports';

const N = Number(process.argv[2] ?? process.env.BENCH_LIFECYCLE_N ?? 1000);
// Users driven at once: 4 per core keeps the thread pool and the worker busy without queueing everything behind key generation.
const IN_FLIGHT = Number(process.env.BENCH_LIFECYCLE_IN_FLIGHT ?? 4 * os.cpus().length);
const CORES = os.cpus().length;
const root = path.resolve(__dirname, '..');

/** The child process: an SMTP sink that counts messages, off the measured process's event loop. */
function runSmtpSink(): void {
  let received = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    maxClients: 1000,
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => { received++; callback(); });
    },
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.server.address() as AddressInfo).port }));
  process.on('message', (m: string) => {
    if (m === 'count') process.send!({ received });
    if (m === 'stop') server.close(() => process.exit(0));
  });
}


async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => { while (next < items.length) await work(items[next++]!); }));
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (n: number) => Math.round(n * 100) / 100;
const log = (line: string) => console.error(`[bench:lifecycle] ${line}`);

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-bench-lifecycle-'));
  const sink = fork(__filename, ['--smtp-sink'], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const smtpPort = await new Promise<number>((resolve) => sink.once('message', (m: { port: number }) => resolve(m.port)));
  const temporalPort = await freePort();
  const temporalServer = await startTemporalDevServer({
    binary: path.join(root, '.tools/temporal/temporal'),
    host: '127.0.0.1',
    port: temporalPort,
    uiPort: await freePort(),
    dbFile: path.join(dir, 'temporal.sqlite'),
    namespace: 'default',
    logFile: path.join(dir, 'temporal.log'),
  });
  const taskQueue = `bench-lifecycle-${crypto.randomUUID()}`;
  const adminToken = crypto.randomBytes(24).toString('base64url');
  const config = loadConfig({
    CERTFLOW_DATA_DIR: dir,
    CERTFLOW_SMTP_PORT: String(smtpPort),
    CERTFLOW_TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    CERTFLOW_TASK_QUEUE: taskQueue,
    CERTFLOW_CA_PASSPHRASE: crypto.randomBytes(18).toString('base64url'),
    CERTFLOW_DATA_KEY: crypto.randomBytes(32).toString('hex'),
    CERTFLOW_SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
    CERTFLOW_API_TOKENS: JSON.stringify([{ token: adminToken, role: 'admin', agent: 'bench' }]),
  });
  const runtime = await createRuntime(config);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection });
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createCertflowWorker({ connection: nativeConnection, taskQueue, activities: runtime.activities });
  const baselineQueue = `${taskQueue}-baseline`;
  const baselineWorker = await Worker.create({
    connection: nativeConnection,
    taskQueue: baselineQueue,
    workflowsPath: require.resolve('./workflows/baseline'),
    activities: { async noop() {} },
  });
  const running = [worker.run(), baselineWorker.run()];
  const { app } = await createHttpSide(runtime, { client, connection, logger: createLogger('warn') });
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  const algorithm = runtime.profiles.kdanshinnet.keyAlgorithm;
  log(`N=${N}, ${IN_FLIGHT} in flight, ${CORES} cores, key algorithm ${algorithm}`);

  try {
    // Temporal baseline: N trivial workflows, the same number in flight.
    let started = performance.now();
    await inParallel([...Array(N).keys()], IN_FLIGHT, async (i) => {
      await client.workflow.execute('baselineWorkflow', { taskQueue: baselineQueue, workflowId: `bench-baseline-${i}` });
    });
    const baselinePerS = N / ((performance.now() - started) / 1000);
    log(`baseline: ${round(baselinePerS)} workflows/s`);

    // Crypto ceiling: native key generation alone, one per core in flight.
    const keys = Math.min(N, Math.max(CORES * 10, Math.ceil(N / 5)));
    const generate = algorithm === 'ecdsa-p256'
      ? () => promisify(crypto.generateKeyPair)('ec', { namedCurve: 'P-256' })
      : () => promisify(crypto.generateKeyPair)('rsa', { modulusLength: algorithm === 'rsa-3072' ? 3072 : 2048 });
    started = performance.now();
    await inParallel([...Array(keys).keys()], CORES, async () => { await generate(); });
    const ceilingPerS = keys / ((performance.now() - started) / 1000);
    log(`ceiling: ${round(ceilingPerS)} ${algorithm} keys/s (${keys} keys)`);

    // The lifecycle: register through the API, retrieve the key, build the PKCS#12, confirm the download, until active.
    const waiting = new Map<string, () => void>();
    const poller = setInterval(async () => {
      if (waiting.size === 0) return;
      const ids = [...waiting.keys()];
      const active = await runtime.db('requests').whereIn('request_id', ids).andWhere({ status: 'active' }).pluck('request_id');
      for (const id of active) { waiting.get(id)?.(); waiting.delete(id); }
    }, 100);
    let peakRss = 0;
    const rssSampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 250);
    const latencies: number[] = [];
    const stages: Record<'register' | 'retrieveKey' | 'pkcs12' | 'downloadToActive', number[]> = { register: [], retrieveKey: [], pkcs12: [], downloadToActive: [] };
    const lap = (stage: keyof typeof stages, since: number) => { const now = performance.now(); stages[stage].push(now - since); return now; };
    started = performance.now();
    await inParallel([...Array(N).keys()], IN_FLIGHT, async (i) => {
      const t0 = performance.now();
      const userId = `bench${String(i).padStart(6, '0')}`;
      const res = await fetch(`${baseUrl}/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          userId, profile: 'kdanshinnet', email: `${userId}@bank.example.jp`, idAdminEmail: `admin.${userId}@bank.example.jp`,
          organization: 'sampleCompany', organizationalUnits: ['div1-1-1', 'div1-1', 'div1'], subscriberId: `S${i}`,
        }),
      });
      if (res.status !== 201) throw new Error(`registration of ${userId}: HTTP ${res.status} ${await res.text()}`);
      const { requestId, workflowId } = (await res.json()) as { requestId: string; workflowId: string };
      let t = lap('register', t0);
      const handle = client.workflow.getHandle(workflowId);
      await handle.executeUpdate(retrieveKeyUpdate);
      t = lap('retrieveKey', t);
      await runtime.ca.buildPkcs12(issuanceKey(requestId, 1), `Bench-${i}-pass`, { userId });
      t = lap('pkcs12', t);
      const active = new Promise<void>((resolve) => waiting.set(requestId, resolve));
      await handle.signal(downloadConfirmedSignal);
      await active;
      lap('downloadToActive', t);
      latencies.push(performance.now() - t0);
    });
    const certsPerS = N / ((performance.now() - started) / 1000);
    clearInterval(poller);
    clearInterval(rssSampler);
    // The guide mails are sent after registration in parallel with retrieval: wait for them before counting.
    let mails = 0;
    for (let tries = 0; tries < 600 && mails < 3 * N; tries++) {
      mails = await new Promise<number>((resolve) => { sink.once('message', (m: { received: number }) => resolve(m.received)); sink.send('count'); });
      if (mails < 3 * N) await new Promise((r) => setTimeout(r, 100));
    }
    latencies.sort((a, b) => a - b);
    for (const [stage, times] of Object.entries(stages)) {
      times.sort((a, b) => a - b);
      log(`stage ${stage}: p50 ${Math.round(percentile(times, 50))} ms, p99 ${Math.round(percentile(times, 99))} ms (wall time with ${IN_FLIGHT} in flight)`);
    }
    const target = 0.5 * Math.min(baselinePerS, ceilingPerS);
    log(`lifecycle: ${round(certsPerS)} certificates/s to active; ${mails}/${3 * N} guide mails received`);
    log(`certs ÷ baseline ${round(certsPerS / baselinePerS)}, certs ÷ ceiling ${round(certsPerS / ceilingPerS)}; target ≥ ${round(target)}/s: ${certsPerS >= target ? 'met' : 'NOT met'}`);
    console.log(JSON.stringify({
      bench: 'lifecycle',
      n: N,
      certs_per_s: round(certsPerS),
      baseline_per_s: round(baselinePerS),
      ceiling_per_s: round(ceilingPerS),
      p50_ms: Math.round(percentile(latencies, 50)),
      p99_ms: Math.round(percentile(latencies, 99)),
      worker_rss_mb: Math.round(peakRss / 1024 / 1024),
    }));
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    worker.shutdown();
    baselineWorker.shutdown();
    await Promise.all(running);
    await nativeConnection.close();
    await connection.close();
    await runtime.close();
    await temporalServer.stop();
    sink.send('stop');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--smtp-sink')) runSmtpSink();
else main().catch((err) => { console.error(err); process.exit(1); });
