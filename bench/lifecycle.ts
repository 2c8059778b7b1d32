// Benchmark: N users registered through the HTTP API and driven to active on the Temporal dev server, against the
// Temporal baseline (N trivial workflows with one no-op activity) and the crypto ceiling (native keygen on all cores).
import crypto from 'node:crypto';
import os from 'node:os';
import { promisify } from 'node:util';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { startEmbeddedStack } from './embedded';
import { driveToActive, inParallel, percentile } from './lifecycle-driver';
import { startSmtpSink } from './smtp-sink';

const N = Number(process.argv[2] ?? process.env.BENCH_LIFECYCLE_N ?? 1000);
// Users driven at once: 4 per core keeps the thread pool and the worker busy without queueing everything behind key generation.
const IN_FLIGHT = Number(process.env.BENCH_LIFECYCLE_IN_FLIGHT ?? 4 * os.cpus().length);
const CORES = os.cpus().length;

const round = (n: number) => Math.round(n * 100) / 100;
const log = (line: string) => console.error(`[bench:lifecycle] ${line}`);

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
    console.log(JSON.stringify({
      bench: 'lifecycle',
      n: N,
      certs_per_s: round(run.certsPerS),
      baseline_per_s: round(baselinePerS),
      ceiling_per_s: round(ceilingPerS),
      p50_ms: Math.round(percentile(run.latenciesMs, 50)),
      p99_ms: Math.round(percentile(run.latenciesMs, 99)),
      worker_rss_mb: Math.round(peakRss / 1024 / 1024),
    }));
  } finally {
    baselineWorker.shutdown();
    await baselineRunning;
    await stack.close();
    await sink.stop();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
