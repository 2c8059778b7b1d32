// Faults under load on the production shape, counted afterwards: a worker killed -9 during 200 issuances, and the
// Temporal Server stopped and started while ~50 are in flight. Every request must end active, with one certificate,
// and each user's three guide mails must arrive once (by Message-ID, at the SMTP listener the workers send to).
import { CERTIFICATE_WORKFLOW_TYPE } from '../../workflows/definitions';
import { createRuntime, type Runtime } from '../../worker/composition';
import { TEMPORAL_METRICS_OFFSET, type ClusterProcess } from '../../scripts/cluster/start-cluster';
import { countOutcomes, driveToActive, inParallel, type DrivenUser, type LifecycleTarget } from '../../bench/lifecycle-driver';
import { alive, eventually, recordFigures, secondsSince, startTestCluster, type TestCluster } from './support';

const KILL_N = Number(process.env.CERTFLOW_TEST_KILL_N ?? 200);
const RESTART_N = Number(process.env.CERTFLOW_TEST_RESTART_N ?? 50);

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('faults under load on the cluster', () => {
  let tc: TestCluster;
  let runtime: Runtime;
  let target: LifecycleTarget;
  let began = Date.now();

  beforeAll(async () => {
    tc = await startTestCluster('faults');
    // The CA on the cluster's database builds each PKCS#12 as the download page would.
    runtime = await createRuntime(tc.cluster.config);
    target = { baseUrl: tc.cluster.urls.http, adminToken: tc.adminToken, client: tc.temporal, ca: runtime.ca, db: tc.db };
    recordFigures('faults: cluster start', { seconds: secondsSince(began) });
  }, 600_000);

  afterAll(async () => {
    await runtime?.close();
    await tc?.close();
  }, 120_000);

  beforeEach(() => {
    began = Date.now();
  });

  /** Activity tasks a worker is running now, from the Temporal SDK's own metrics beside its ops port. */
  const activitiesRunning = async (worker: ClusterProcess): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${worker.ports.ops + TEMPORAL_METRICS_OFFSET}/metrics`)).text();
    return [...text.matchAll(/^temporal_worker_task_slots_used\{[^}]*worker_type="ActivityWorker"[^}]*\}\s+(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };

  /** Waits until every mail is settled in the outbox and each user's distinct mails have arrived: then no delivery is still to come. */
  const mailSettled = (users: DrivenUser[]) =>
    eventually(async () => {
      const unsettled = Number((await tc.db('mail_outbox').whereNot({ status: 'sent' }).count({ n: '*' }).first())?.n ?? 0);
      const counts = await countOutcomes(tc.db, users, tc.countedMails());
      return unsettled === 0 && counts.lost.mails === 0;
    }, 'every mail sent and received', 420_000, 1000);

  /** Activities that took more than one attempt, and workflow tasks that timed out, in the users' histories. */
  const retriesIn = async (users: DrivenUser[]) => {
    let activityRetries = 0;
    let workflowTaskTimeouts = 0;
    await inParallel(users, 8, async (u) => {
      const history = await tc.temporal.workflow.getHandle(u.workflowId).fetchHistory();
      for (const e of history.events ?? []) {
        const started = e.activityTaskStartedEventAttributes;
        // History keeps only an activity's last attempt: its attempt number says how many came before.
        if (started && (started.attempt ?? 1) > 1) activityRetries++;
        if (e.workflowTaskTimedOutEventAttributes) workflowTaskTimeouts++;
      }
    });
    return { activityRetries, workflowTaskTimeouts };
  };

  /** Certificate workflows on the Temporal Server without a request in certflow's database: what a refused registration must never leave. */
  const orphanWorkflows = async () => {
    const known = new Set((await tc.db('requests').pluck('workflow_id')) as string[]);
    return eventually(async () => {
      const ids: string[] = [];
      for await (const w of tc.temporal.workflow.list({ query: `WorkflowType = '${CERTIFICATE_WORKFLOW_TYPE}'` })) ids.push(w.workflowId);
      // Visibility lags a little: ask until it shows at least every request.
      return ids.length >= known.size && { workflows: ids.length, orphans: ids.filter((id) => !known.has(id)) };
    }, 'visibility to show every workflow', 60_000, 1000);
  };

  const issuedPerRequest = async (users: DrivenUser[]) =>
    Number((await tc.db('issued_certificates').whereIn('request_id', users.map((u) => u.requestId)).count({ n: '*' }).first())?.n ?? 0);

  it(`when one worker is killed -9 half-way through ${KILL_N} issuances, then the other finishes them: every request active, none lost, no certificate or mail twice`, async () => {
    const victim = tc.process('worker-1');
    const survivor = tc.process('worker-2');
    const pid = victim.pid;
    let killed: Promise<{ afterActive: number; activitiesRunning: number; at: number }> | undefined;
    // Half-way, and at a moment the victim is running activities, so it takes work with it.
    const kill = async (afterActive: number) => {
      let running = 0;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await pause(20)) {
        running = await activitiesRunning(victim).catch(() => 0);
        if (running > 0) break;
      }
      victim.kill();
      return { afterActive, activitiesRunning: running, at: Date.now() };
    };

    const run = await driveToActive(target, {
      n: KILL_N,
      inFlight: 8,
      prefix: 'kill',
      onActive: (done) => {
        if (done === Math.floor(KILL_N / 2)) killed = kill(done);
      },
    });
    const kill9 = await killed!;
    const allActiveSeconds = secondsSince(began);
    // It was a kill -9, and only the victim died.
    expect(tc.events.filter((e) => e.includes('exited'))).toEqual([`worker-1 (worker, pid ${pid}) exited with SIGKILL; not restarted (see ${victim.logFile})`]);
    expect(alive(pid)).toBe(false);
    expect(survivor.running()).toBe(true);

    await mailSettled(run.users);
    const counts = await countOutcomes(tc.db, run.users, tc.countedMails());
    const retries = await retriesIn(run.users);
    recordFigures('faults: worker killed -9 during issuances', {
      n: KILL_N,
      seconds: secondsSince(began),
      allActiveSeconds,
      lastActiveAfterKillSeconds: Math.round((began + allActiveSeconds * 1000 - kill9.at) / 100) / 10,
      certsPerS: Math.round(run.certsPerS * 100) / 100,
      killedAfterActive: kill9.afterActive,
      activitiesRunningOnVictimAtKill: kill9.activitiesRunning,
      ...retries,
      counts,
    });
    expect(counts).toEqual({
      requests: KILL_N,
      active: KILL_N,
      lost: { requests: 0, mails: 0 },
      duplicates: { certificates: 0, serials: 0, mails: 0, sameMessageIdDeliveries: counts.duplicates.sameMessageIdDeliveries },
      mails: { expected: 3 * KILL_N, distinct: 3 * KILL_N, deliveries: 3 * KILL_N + counts.duplicates.sameMessageIdDeliveries },
    });
    expect(await issuedPerRequest(run.users)).toBe(KILL_N);
    // certflow's documented limit: a mail whose SMTP 250 came before the kill but whose outbox row was not yet marked
    // sent goes out again after the 2-minute lease, with the same Message-ID. Only an attempt the kill cut can do that.
    expect(counts.duplicates.sameMessageIdDeliveries).toBeLessThanOrEqual(kill9.activitiesRunning);
    // The victim held work when it died, and that work was done again elsewhere (the test did kill something).
    expect(kill9.activitiesRunning).toBeGreaterThan(0);
    expect(retries.activityRetries).toBeGreaterThan(0);

    await victim.restart();
    expect(victim.running()).toBe(true);
  });

  it(`when the Temporal Server is stopped while ~${RESTART_N} issuances are in flight and started again, then every one ends active, nothing lost or twice, and a registration refused meanwhile kept nothing`, async () => {
    // Every process up, whatever the test before left (its victim is restarted at its end).
    for (const p of tc.cluster.processes) if (!p.running()) await p.restart();
    const exitsBefore = tc.events.filter((e) => e.includes('exited')).length;
    let outage: Promise<{ stoppedSeconds: number; downSeconds: number }> | undefined;
    let firstRefusal: () => void = () => undefined;
    const refused = new Promise<void>((resolve) => (firstRefusal = resolve));
    let duringOutage: ReturnType<typeof driveToActive> | undefined;
    const restart = async () => {
      const t0 = Date.now();
      await tc.cluster.temporal.stop();
      const stoppedAt = Date.now();
      // Registrations made while the server is away: the API's client retries ~20 s, then answers 503.
      duringOutage = driveToActive(target, { n: 10, inFlight: 10, prefix: 'outage', rideOutOutages: true, onRefusedRegistration: () => firstRefusal() });
      let giveUp: NodeJS.Timeout | undefined;
      await Promise.race([refused, new Promise((r) => (giveUp = setTimeout(r, 120_000)))]);
      clearTimeout(giveUp);
      await tc.cluster.temporal.start();
      return { stoppedSeconds: secondsSince(t0), downSeconds: secondsSince(stoppedAt) };
    };

    const inFlight = await driveToActive(target, {
      n: RESTART_N,
      inFlight: RESTART_N,
      prefix: 'restart',
      rideOutOutages: true,
      onActive: (done) => {
        if (done === 5) outage = restart();
      },
    });
    const { stoppedSeconds, downSeconds } = await outage!;
    const refusedRun = await duringOutage!;
    const users = [...inFlight.users, ...refusedRun.users];
    // Every certflow process rode the outage out.
    expect(tc.cluster.processes.filter((p) => !p.running()).map((p) => p.name)).toEqual([]);
    expect(tc.events.filter((e) => e.includes('exited')).slice(exitsBefore)).toEqual([]);

    await mailSettled(users);
    const counts = await countOutcomes(tc.db, users, tc.countedMails());
    const workflows = await orphanWorkflows();
    recordFigures('faults: Temporal Server restarted under load', {
      n: users.length,
      seconds: secondsSince(began),
      stoppedSeconds,
      downSeconds,
      refusedRegistrations: inFlight.refusedRegistrations + refusedRun.refusedRegistrations,
      retriedTemporalCalls: inFlight.retriedTemporalCalls + refusedRun.retriedTemporalCalls,
      workflows,
      counts,
    });
    expect(counts).toEqual({
      requests: users.length,
      active: users.length,
      lost: { requests: 0, mails: 0 },
      duplicates: { certificates: 0, serials: 0, mails: 0, sameMessageIdDeliveries: 0 },
      mails: { expected: 3 * users.length, distinct: 3 * users.length, deliveries: 3 * users.length },
    });
    expect(await issuedPerRequest(users)).toBe(users.length);
    // The API refused some registrations while the server was away; each was registered again (201, not "already
    // registered") and no workflow is left without its request.
    expect(refusedRun.refusedRegistrations).toBeGreaterThan(0);
    expect(workflows.orphans).toEqual([]);
  });
});
