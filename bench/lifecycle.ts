// Benchmark: N users registered through the HTTP API and driven to active on the Temporal dev server, against the
// Temporal baseline (N trivial workflows with one no-op activity) and the crypto ceiling (native keygen on all cores);
// then key retrieval (Submit → the key is ready for Download) for M more users without and with a full key pool.
import crypto from 'node:crypto';
import os from 'node:os';
import { promisify } from 'node:util';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createKeyPool, createPkiStore } from '../engines/pki';
import { startEmbeddedStack, type EmbeddedStack } from './embedded';
import { driveToActive, inParallel, percentile } from './lifecycle-driver';
import { startSmtpSink, type SmtpSink } from './smtp-sink';

const N = Number(process.argv[2] ?? process.env.BENCH_LIFECYCLE_N ?? 1000);
// Users driven at once: 4 per core keeps the thread pool and the worker busy without queueing everything behind key generation.
const IN_FLIGHT = Number(process.env.BENCH_LIFECYCLE_IN_FLIGHT ?? 4 * os.cpus().length);
const CORES = os.cpus().length;
// Users of each key-retrieval phase (without the pool, then with it full).
const RETRIEVAL_N = Number(process.env.BENCH_RETRIEVAL_N ?? Math.min(N, 100));

const round = (n: number) => Math.round(n * 100) / 100;
const log = (line: string) => console.error(`[bench:lifecycle] ${line}`);

interface RetrievalFigures {
  p50: number;
  p99: number;
  /** Keys of the phase's certificates that came from the pool. */
  pooled: number;
}

/**
 * Key retrieval for RETRIEVAL_N users registered beforehand, IN_FLIGHT at once: the wall time of what the Submit button waits for before the
 * Download page (the retrieveKey update — issuance activity and the workflow's answer — then the PKCS#12), with the
 * pool empty and its refill stopped, or filled first with one key per user.
 */
async function retrievalPhase(stack: EmbeddedStack, sink: SmtpSink, withPool: boolean): Promise<RetrievalFigures> {
  const { runtime } = stack;
  const algorithm = runtime.profiles.kdanshinnet.keyAlgorithm;
  await runtime.keyPool.stop();
  await runtime.db('key_pool').whereNull('claimed_by').delete();
  if (withPool) {
    const started = performance.now();
    const filler = createKeyPool({ store: createPkiStore(runtime.db), dataKey: runtime.config.dataKey, size: RETRIEVAL_N, algorithms: [algorithm] });
    await filler.refill();
    await filler.stop();
    log(`pool filled with ${RETRIEVAL_N} ${algorithm} keys in ${Math.round(performance.now() - started)} ms (low-priority thread)`);
  }
  const pooledBefore = await pooledCount(stack);
  const mailsBefore = (await sink.mails()).length;
  const run = await driveToActive(stack.target, {
    n: RETRIEVAL_N,
    inFlight: IN_FLIGHT,
    prefix: withPool ? 'pool' : 'nopool',
    registerFirst: true,
    // The registrations' two mails each rendered and sent first: Submit is timed on its own, not behind a mail queue.
    afterRegistration: async () => void (await sink.waitFor(mailsBefore + 2 * RETRIEVAL_N, 120_000)),
  });
  return { p50: percentile(run.submitMs, 50), p99: percentile(run.submitMs, 99), pooled: (await pooledCount(stack)) - pooledBefore };
}

async function pooledCount(stack: EmbeddedStack): Promise<number> {
  const metric = await stack.runtime.metrics.issuanceKeys.get();
  return metric.values.filter((v) => v.labels.source === 'pool').reduce((sum, v) => sum + v.value, 0);
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const sink = await startSmtpSink();
  const stack = await startEmbeddedStack({ name: 'bench-lifecycle', smtpPort: sink.port });
  const baselineQueue = `${stack.taskQueue}-baseline`;
  const baselineWorker = await Worker.create({
    connection: stack.nativeConnection,
    taskQueue: baselineQueue,
    workflowsPath: require.resolve('./workflows/baseline'),
    activities: { async noop() {} },
  });
  const baselineRunning = baselineWorker.run();
  const algorithm = stack.runtime.profiles.kdanshinnet.keyAlgorithm;
  log(`N=${N}, ${IN_FLIGHT} in flight, ${CORES} cores, key algorithm ${algorithm}`);

  try {
    // Temporal baseline: N trivial workflows, the same number in flight.
    let started = performance.now();
    await inParallel([...Array(N).keys()], IN_FLIGHT, async (i) => {
      await stack.client.workflow.execute('baselineWorkflow', { taskQueue: baselineQueue, workflowId: `bench-baseline-${i}` });
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
    let peakRss = 0;
    const rssSampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 250);
    const run = await driveToActive(stack.target, { n: N, inFlight: IN_FLIGHT, prefix: 'bench' }).finally(() => clearInterval(rssSampler));
    // The guide mails are sent after registration in parallel with retrieval: wait for them before counting.
    const mails = (await sink.waitFor(3 * N, 60_000)).length;
    for (const [stage, times] of Object.entries(run.stages)) {
      log(`stage ${stage}: p50 ${Math.round(percentile(times, 50))} ms, p99 ${Math.round(percentile(times, 99))} ms (wall time with ${IN_FLIGHT} in flight)`);
    }
    const target = 0.5 * Math.min(baselinePerS, ceilingPerS);
    log(`lifecycle: ${round(run.certsPerS)} certificates/s to active; ${mails}/${3 * N} guide mails received`);
    log(`certs ÷ baseline ${round(run.certsPerS / baselinePerS)}, certs ÷ ceiling ${round(run.certsPerS / ceilingPerS)}; target ≥ ${round(target)}/s: ${run.certsPerS >= target ? 'met' : 'NOT met'}`);

    // Key retrieval on its own: the same work for RETRIEVAL_N more users, without the pool and then with it full.
    const without = await retrievalPhase(stack, sink, false);
    log(`key retrieval without the pool: p50 ${Math.round(without.p50)} ms, p99 ${Math.round(without.p99)} ms (${RETRIEVAL_N} users, ${IN_FLIGHT} in flight, ${without.pooled} pooled keys)`);
    const pooled = await retrievalPhase(stack, sink, true);
    log(`key retrieval with the pool: p50 ${Math.round(pooled.p50)} ms, p99 ${Math.round(pooled.p99)} ms (${pooled.pooled}/${RETRIEVAL_N} keys from the pool); target p99 < 150 ms: ${pooled.p99 < 150 ? 'met' : 'NOT met'}`);
    console.log(JSON.stringify({
      bench: 'lifecycle',
      n: N,
      certs_per_s: round(run.certsPerS),
      baseline_per_s: round(baselinePerS),
      ceiling_per_s: round(ceilingPerS),
      p50_ms: Math.round(percentile(run.latenciesMs, 50)),
      p99_ms: Math.round(percentile(run.latenciesMs, 99)),
      worker_rss_mb: Math.round(peakRss / 1024 / 1024),
      retrieval_p50_ms: Math.round(pooled.p50),
      retrieval_p99_ms: Math.round(pooled.p99),
      retrieval_p50_ms_without_pool: Math.round(without.p50),
      retrieval_p99_ms_without_pool: Math.round(without.p99),
    }));
  } finally {
    baselineWorker.shutdown();
    await baselineRunning;
    await stack.close();
    await sink.stop();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
