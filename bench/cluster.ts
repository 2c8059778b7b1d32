// Benchmark: bench:lifecycle's work (register through the API, retrieveKey, PKCS#12, confirm the download, until
// active) on the embedded default (Temporal dev server, SQLite, one process) and on the cluster (nginx, two web and
// two worker processes, the Temporal Server and certflow on PostgreSQL), in the same run, with the CPU each part used.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startCluster } from '../scripts/cluster/start-cluster';
import { createRuntime } from '../worker/composition';
import { freeClusterPorts } from '../test/cluster/support';
import { startEmbeddedStack } from './embedded';
import { countOutcomes, driveToActive, percentile, type DriveResult, type OutcomeCounts } from './lifecycle-driver';
import { startSmtpSink } from './smtp-sink';

const N = Number(process.argv[2] ?? process.env.BENCH_CLUSTER_N ?? 200);
// As bench:lifecycle: 4 users per core in flight.
const IN_FLIGHT = Number(process.env.BENCH_CLUSTER_IN_FLIGHT ?? 4 * os.cpus().length);
const CLK_TCK = 100;

const round = (n: number) => Math.round(n * 100) / 100;
const log = (line: string) => console.error(`[bench:cluster] ${line}`);

/** CPU seconds so far of every process on the machine, by what it is (`name` names the pids we know). */
function cpuByPart(name: (pid: number, comm: string) => string | undefined): Map<string, number> {
  const parts = new Map<string, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
    const part = name(Number(entry), comm) ?? 'other';
    parts.set(part, (parts.get(part) ?? 0) + seconds);
  }
  return parts;
}

function cpuDelta(before: Map<string, number>, after: Map<string, number>, wallSeconds: number): Record<string, string> {
  const rows = [...after].map(([part, s]) => [part, s - (before.get(part) ?? 0)] as const).filter(([, s]) => s >= 0.5).sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, s]) => sum + s, 0);
  log(`  CPU: ${round(total)} s of ${round(wallSeconds * os.cpus().length)} s the cores had (${Math.round((100 * total) / (wallSeconds * os.cpus().length))}% busy)`);
  for (const [part, s] of rows) log(`    ${part.padEnd(28)} ${round(s).toFixed(1).padStart(7)} s  ${round((1000 * s) / N).toFixed(0).padStart(5)} ms/certificate`);
  return Object.fromEntries(rows.map(([part, s]) => [part, round(s).toFixed(1)]));
}

function report(tier: string, run: DriveResult, counts: OutcomeCounts): void {
  log(`${tier}: ${round(run.certsPerS)} certificates/s to active (${round(run.seconds)} s); p50 ${Math.round(percentile(run.latenciesMs, 50))} ms, p99 ${Math.round(percentile(run.latenciesMs, 99))} ms`);
  for (const [stage, times] of Object.entries(run.stages)) log(`  stage ${stage}: p50 ${Math.round(percentile(times, 50))} ms, p99 ${Math.round(percentile(times, 99))} ms`);
  log(`  counted: ${counts.active}/${counts.requests} active, lost ${JSON.stringify(counts.lost)}, duplicates ${JSON.stringify(counts.duplicates)}, mails ${counts.mails.distinct}/${counts.mails.expected}`);
}

const lostOf = (c: OutcomeCounts) => c.lost.requests + c.lost.mails;
const duplicatesOf = (c: OutcomeCounts) => c.duplicates.certificates + c.duplicates.serials + c.duplicates.mails + c.duplicates.sameMessageIdDeliveries;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  log(`N=${N}, ${IN_FLIGHT} in flight, ${os.cpus().length} cores (${os.cpus()[0]?.model}), load ${os.loadavg().map(round).join(' ')}`);
  const sink = await startSmtpSink();
  const self = process.pid;
  try {
    // The embedded default: everything certflow in this process, the dev server beside it.
    const embedded = await startEmbeddedStack({ name: 'bench-cluster-embedded', smtpPort: sink.port });
    let embeddedRun: DriveResult;
    let embeddedCounts: OutcomeCounts;
    try {
      const part = (pid: number, comm: string) =>
        pid === self ? 'certflow (one process) + driver' : pid === sink.pid ? 'smtp sink' : comm === 'temporal' ? 'temporal dev server' : undefined;
      const before = cpuByPart(part);
      embeddedRun = await driveToActive(embedded.target, { n: N, inFlight: IN_FLIGHT, prefix: 'embed' });
      const after = cpuByPart(part);
      embeddedCounts = await countOutcomes(embedded.runtime.db, embeddedRun.users, await sink.waitFor(3 * N, 120_000));
      report('embedded', embeddedRun, embeddedCounts);
      cpuDelta(before, after, embeddedRun.seconds);
    } finally {
      await embedded.close();
    }

    // The cluster: nginx → 2 web processes, 2 workers, the Temporal Server; PostgreSQL under both.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-bench-cluster-'));
    fs.chmodSync(dir, 0o755);
    const cluster = await startCluster({
      dir,
      ports: await freeClusterPorts(),
      mailbox: false,
      env: { ...process.env, CERTFLOW_LOG_LEVEL: 'warn', CERTFLOW_SMTP_HOST: '127.0.0.1', CERTFLOW_SMTP_PORT: String(sink.port), CERTFLOW_SMTP_SECURE: 'false' },
      log,
    });
    let clusterRun: DriveResult;
    let clusterCounts: OutcomeCounts;
    try {
      const runtime = await createRuntime(cluster.config);
      const connection = await Connection.connect({ address: cluster.urls.temporal });
      try {
        const adminToken = (JSON.parse(cluster.env.CERTFLOW_API_TOKENS) as Array<{ token: string; role: string }>).find((t) => t.role === 'admin')!.token;
        const byPid = new Map(cluster.processes.map((p) => [p.pid, p.name]));
        const part = (pid: number, comm: string) =>
          byPid.get(pid) ?? (pid === self ? 'driver (bench, PKCS#12)' : pid === sink.pid ? 'smtp sink' : comm === 'postgres' ? 'postgresql' : comm === 'server' ? 'temporal server' : comm === 'nginx' ? 'nginx' : undefined);
        const before = cpuByPart(part);
        clusterRun = await driveToActive(
          { baseUrl: cluster.urls.http, adminToken, client: new Client({ connection, namespace: cluster.config.temporal.namespace }), ca: runtime.ca, db: runtime.db },
          { n: N, inFlight: IN_FLIGHT, prefix: 'clust' },
        );
        const after = cpuByPart(part);
        clusterCounts = await countOutcomes(runtime.db, clusterRun.users, await sink.waitFor(6 * N, 120_000));
        report('cluster', clusterRun, clusterCounts);
        cpuDelta(before, after, clusterRun.seconds);
      } finally {
        await connection.close();
        await runtime.close();
      }
    } finally {
      await cluster.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }

    log(`cluster ÷ embedded: ${round(clusterRun.certsPerS / embeddedRun.certsPerS)}`);
    console.log(JSON.stringify({
      bench: 'cluster',
      n: N,
      cluster_certs_per_s: round(clusterRun.certsPerS),
      embedded_certs_per_s: round(embeddedRun.certsPerS),
      p99_ms: Math.round(percentile(clusterRun.latenciesMs, 99)),
      lost: lostOf(clusterCounts) + lostOf(embeddedCounts),
      duplicates: duplicatesOf(clusterCounts) + duplicatesOf(embeddedCounts),
    }));
  } finally {
    await sink.stop();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
