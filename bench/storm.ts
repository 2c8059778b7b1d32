// Benchmark (issue 12 item 5): a storm of T-30 renewal notices. N certificates imported through the migration import
// with their T-30 within one minute a few minutes ahead, on a Temporal dev server with real timers; every notice must
// reach an SMTP sink (child process, counting by Message-ID) exactly once at the configured relay rate, while the
// enrollment login page is timed open-loop during the storm.
//   npm run bench:storm [-- N]        (default 10,000; CERTFLOW_MAIL_MAX_PER_SECOND, default 50, is the relay's rate)
import os from 'node:os';
import { createDomain } from '../worker/composition';
import { loadConfig } from '../worker/config';
import { startEmbeddedStack, type EmbeddedStack } from './embedded';
import { percentile, type CountedMail } from './lifecycle-driver';
import { openLoop } from './open-loop';
import { startSmtpSink, type SmtpSink } from './smtp-sink';
import { importStormPopulation, noticeDueAt } from './storm-population';

const N = Number(process.argv[2] ?? 10_000);
const envNumber = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
// The relay's limit, read and validated as certflow reads it.
const RATE = String(loadConfigRate());
const IMPORTS_IN_FLIGHT = envNumber('BENCH_STORM_IMPORTS_IN_FLIGHT', 8);
// The first T-30 falls due this long after the storm's imports begin: they must all be done by then. Unset, it comes
// from the import rate of a calibration batch (certificates due years ahead, outside the storm).
const LEAD_S = process.env.BENCH_STORM_LEAD_S === undefined ? undefined : Number(process.env.BENCH_STORM_LEAD_S);
const CALIBRATION_N = 100;
const LOGIN_RATE = envNumber('BENCH_STORM_LOGIN_RATE', 20);
const TIMEOUT_S = envNumber('BENCH_STORM_TIMEOUT_S', Math.max(900, Math.ceil((2 * N) / Number(RATE)) + 120));
const QUIET_S = envNumber('BENCH_STORM_QUIET_S', 15);
const DAY = 86_400_000;
const MINUTE = 60_000;

function loadConfigRate(): number {
  const dummySecrets = { CERTFLOW_CA_PASSPHRASE: 'x'.repeat(12), CERTFLOW_DATA_KEY: '0'.repeat(64), CERTFLOW_SESSION_SECRET: 'x'.repeat(32) };
  return loadConfig({ ...dummySecrets, CERTFLOW_MAIL_MAX_PER_SECOND: process.env.CERTFLOW_MAIL_MAX_PER_SECOND }).smtp.maxMailsPerSecond;
}

const began = Date.now();
const log = (line: string) => console.log(`[${((Date.now() - began) / 1000).toFixed(0).padStart(5)} s] ${line}`);

let sink: SmtpSink | undefined;
let stack: EmbeddedStack | undefined;
let cleaning: Promise<void> | undefined;
/** Stops every server the bench started, once, whatever ended it. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    await stack?.close().catch((err) => console.error('closing the stack:', err));
    await sink?.stop().catch((err) => console.error('stopping the SMTP sink:', err));
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the dev server, the worker and the sink`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** The p99 to a tenth of a millisecond (NaN when nothing was measured). */
const p99 = (values: number[]): number => Math.round(percentile([...values].sort((a, b) => a - b), 99) * 10) / 10;

async function main(): Promise<void> {
  if (!Number.isInteger(N) || N < 1) throw new Error(`N must be a whole number of certificates, not ${process.argv[2]}`);
  log(`bench:storm n=${N}, relay limit ${RATE} mails/s, ${os.cpus().length} cores, login page offered ${LOGIN_RATE}/s during the storm`);
  sink = await startSmtpSink();
  stack = await startEmbeddedStack({ name: 'storm', smtpPort: sink.port, settings: { CERTFLOW_MAIL_MAX_PER_SECOND: RATE } });
  const domain = createDomain(stack.runtime, stack.client);
  log('dev server, worker and web up');

  let leadS = LEAD_S;
  if (leadS === undefined) {
    const calibrating = Date.now();
    await importStormPopulation(domain, { n: CALIBRATION_N, userPrefix: 'calib', notAfterOf: () => new Date(Date.now() + 400 * DAY), concurrency: IMPORTS_IN_FLIGHT });
    const perSecond = CALIBRATION_N / ((Date.now() - calibrating) / 1000);
    // The storm's imports at 40 % of the calibration's rate, plus two minutes: imports slow down as the open workflows
    // grow (at N = 10,000 on 2 cores: 39/s for the first 100, 19.7/s on average), and a late import misses its notice.
    leadS = Math.ceil(N / (0.4 * perSecond)) + 120;
    log(`calibration: ${CALIBRATION_N} imports at ${perSecond.toFixed(1)}/s; the first T-30 will be due ${leadS} s from now (BENCH_STORM_LEAD_S sets it)`);
  }
  log(`importing ${N} certificates, ${IMPORTS_IN_FLIGHT} in flight`);
  // T-30 of certificate i: spread over one minute from the first due time, in whole seconds (a certificate's precision).
  const importing = Date.now();
  const firstDue = Math.ceil((importing + leadS * 1000) / 1000) * 1000;
  const notAfterOf = (i: number) => new Date(firstDue + Math.floor((i * MINUTE) / N / 1000) * 1000 + 30 * DAY);
  let lastReport = Date.now();
  const imported = await importStormPopulation(domain, {
    n: N,
    userPrefix: 'storm',
    notAfterOf,
    concurrency: IMPORTS_IN_FLIGHT,
    onProgress(done) {
      if (Date.now() - lastReport < 5000 && done < N) return;
      lastReport = Date.now();
      log(`imported ${done}/${N} (${(done / ((Date.now() - importing) / 1000)).toFixed(1)}/s); first notice due in ${Math.round((firstDue - Date.now()) / 1000)} s`);
    },
  });
  const dueTimes = imported.map(noticeDueAt);
  const firstDueAt = Math.min(...dueTimes);
  const lastDueAt = Math.max(...dueTimes);
  if (Date.now() >= firstDueAt) {
    throw new Error(`the imports ended ${((Date.now() - firstDueAt) / 1000).toFixed(0)} s after the first T-30 was due: its workflows skip a notice already past; raise BENCH_STORM_LEAD_S (was ${leadS})`);
  }
  log(`all ${N} imported; their T-30 notices fall due between ${new Date(firstDueAt).toISOString()} and ${new Date(lastDueAt).toISOString()}`);
  log(`waiting ${Math.round((firstDueAt - Date.now()) / 1000)} s for the first T-30`);
  await new Promise((r) => setTimeout(r, firstDueAt - Date.now()));

  // The storm: the login page timed in 5-s open-loop rounds until every notice has arrived or the wait is over.
  const loginLatencies: number[] = [];
  let loginErrors = 0;
  let mails: CountedMail[] = [];
  const unique = () => new Set(mails.map((m) => m.messageId)).size;
  const deadline = firstDueAt + TIMEOUT_S * 1000;
  while (Date.now() < deadline) {
    const round = await openLoop({
      url: `${stack.target.baseUrl}/enroll/kdanshinnet/login`,
      ratePerSecond: LOGIN_RATE,
      seconds: 5,
      connections: 8,
      warmupRequests: 0,
      headers: { accept: 'text/html' },
      latencies: loginLatencies,
    });
    loginErrors += round.errors;
    mails = await sink.mails();
    const got = unique();
    log(`${got}/${N} notices at the sink (${(got / ((Date.now() - firstDueAt) / 1000)).toFixed(1)}/s since the first was due); login p99 this round ${round.p99} ms, ${round.errors} errors`);
    if (got >= N) break;
  }
  log(`waiting ${QUIET_S} s for any repeat`);
  await new Promise((r) => setTimeout(r, QUIET_S * 1000));
  mails = await sink.mails();

  // Exactly once: every workflow's T-30 outbox row, its Message-ID counted at the sink.
  const rows = (await Promise.all(imported.map((c) => stack!.runtime.mailOutbox.listByKeyPrefix(`${c.workflowId}:renewal-notice-30`)))).flat();
  const arrivals = new Map<string, number>();
  for (const m of mails) arrivals.set(m.messageId, (arrivals.get(m.messageId) ?? 0) + 1);
  const expected = new Set(rows.map((r) => r.messageId));
  const delivered = [...expected].filter((id) => arrivals.has(id));
  const lost = N - delivered.length;
  const duplicates = delivered.reduce((n, id) => n + arrivals.get(id)! - 1, 0);
  const strangers = mails.filter((m) => !expected.has(m.messageId)).length;
  const times = mails.filter((m) => expected.has(m.messageId)).map((m) => m.at!);
  const lastArrival = Math.max(...times);
  const drainS = Math.round((lastArrival - firstDueAt) / 100) / 10;
  log(`outbox rows ${rows.length}/${N}; delivered ${delivered.length}, lost ${lost}, duplicates ${duplicates}, mails of no row ${strangers}`);
  log(`first arrival ${((Math.min(...times) - firstDueAt) / 1000).toFixed(1)} s after the first due time, last ${drainS} s after; last due ${((lastDueAt - firstDueAt) / 1000).toFixed(0)} s after the first`);
  log(`login page: ${loginLatencies.length} answered during the storm, ${loginErrors} errors, p99 ${p99(loginLatencies)} ms`);
  console.log(
    JSON.stringify({
      bench: 'storm',
      n: N,
      drain_s: drainS,
      mails_per_s: Math.round((delivered.length / drainS) * 10) / 10,
      duplicates,
      lost,
      login_p99_ms_during: p99(loginLatencies),
    }),
  );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanUp());
