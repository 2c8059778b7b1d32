// CSV files of users for the import tests, and an import fixture on the time-skipping server: a worker running the
// import workflow and its real activities over a fresh database, registering through the real registerUser.
import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createImportActivities, type LineRegistrar } from '../../activities/import-activities';
import { createCertificateGateway, createImportGateway, registerImportLine, type CertificateGateway, type DomainDeps } from '../../domain';
import { createSealedSecrets } from '../../engines/mail';
import { buildProfiles } from '../../engines/pki';
import { createStores, type Stores } from '../../stores';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from '../support/databases';
import { createTimeSkippingEnv } from '../support/temporal';
import { eventually } from '../api/stack';

export const HEADER = 'userId,profile,email,idAdminEmail,organization,organizationalUnits,subscriberId';

export interface UserLine {
  userId: string;
  profile?: string;
  email?: string;
  idAdminEmail?: string;
  organization?: string;
  organizationalUnits?: string;
  subscriberId?: string;
}

/** One CSV line; a field with a comma, quote or line break is quoted. */
export function csvLine(u: UserLine): string {
  const fields = [
    u.userId,
    u.profile ?? 'kdanshinnet',
    u.email ?? `${u.userId}@bank.example.co.jp`,
    u.idAdminEmail ?? `id-admin@bank.example.co.jp`,
    u.organization ?? 'sampleCompany',
    u.organizationalUnits ?? 'div1-1-1;div1-1;div1',
    u.subscriberId ?? `S-${u.userId}`,
  ];
  return fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',');
}

export function usersCsv(lines: UserLine[], eol = '\n'): string {
  return [HEADER, ...lines.map(csvLine)].join(eol) + eol;
}

export const userIdOf = (i: number) => `emp${String(i).padStart(4, '0')}`;

// Bundled once per test file: webpack takes seconds of CPU each time.
let workflowBundle: Promise<WorkflowBundle> | undefined;

export interface ImportFixture {
  env: TestWorkflowEnvironment;
  database: TestDatabase;
  stores: Stores;
  /** The domain the use cases run on (certificate workflows started on a queue no worker polls: see below). */
  deps: DomainDeps;
  /** Certificate workflow starts per user ID, counted at the gateway. */
  starts: Map<string, number>;
  /** Stops the worker (an activity in flight is cancelled between two lines) and starts a fresh one. */
  restartWorker(): Promise<void>;
  /** Replaces the line registrar of the next workers (to cut a batch off after a registration). */
  wrapRegistrar(wrap: (real: LineRegistrar) => LineRegistrar): void;
  stop(): Promise<void>;
}

/**
 * Certificate workflows are started on a task queue that no worker polls: they are counted (the gateway and Temporal's
 * describe), not run — their own suites run them; here 1,000 of them would only cost the shared CPU.
 */
export async function startImportFixture(kind: DatabaseKind): Promise<ImportFixture> {
  const env = await createTimeSkippingEnv();
  const database = await createTestDatabase(kind);
  const stores = createStores(database.db, { auditKey: crypto.randomBytes(32) });
  const taskQueue = `imports-${crypto.randomUUID()}`;
  const starts = new Map<string, number>();
  const counting = (gateway: CertificateGateway): CertificateGateway => ({
    ...gateway,
    async start(input, queue) {
      const started = await gateway.start(input, queue);
      starts.set(input.userId, (starts.get(input.userId) ?? 0) + 1);
      return started;
    },
  });
  const domainOver = (client: Client): DomainDeps =>
    ({
      stores,
      certificates: counting(createCertificateGateway({ client, taskQueue: `${taskQueue}-certificates-parked`, requests: stores.requests })),
      importWorkflows: createImportGateway({ client, taskQueue, batchSize: 25 }),
      sealedSecrets: createSealedSecrets({ db: database.db, dataKey: crypto.randomBytes(32) }),
      profiles: buildProfiles({ publicUrl: 'http://localhost:3000' }),
      clock: () => new Date(),
    }) as unknown as DomainDeps;
  const deps = domainOver(env.client);
  let registrar: LineRegistrar = (line, client) => registerImportLine(domainOver(client), line);

  const bundle = await (workflowBundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows') }));
  const startWorker = async () => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      // No sticky queue: the time-skipping server never moves a task off a stopped worker's sticky queue (a real server
      // does, told by the worker's shutdown), so a restarted worker would wait for a task that never comes.
      maxCachedWorkflows: 0,
      activities: createImportActivities({ imports: stores.imports, registerLine: (line, client) => registrar(line, client) }),
    });
    return { worker, running: worker.run() };
  };
  let current = await startWorker();
  const stopWorker = async () => {
    current.worker.shutdown();
    await current.running;
  };
  return {
    env,
    database,
    stores,
    deps,
    starts,
    async restartWorker() {
      await stopWorker();
      current = await startWorker();
    },
    wrapRegistrar(wrap) {
      registrar = wrap(registrar);
    },
    async stop() {
      await stopWorker();
      await env.teardown();
      await database.destroy();
    },
  };
}

/** Polls until the probe answers, failing with `what` after the timeout (an import's 4 minutes by default). */
export const until = <T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 240_000): Promise<T> => eventually(probe, what, timeoutMs);
