// The Temporal workers of one certflow process: certificate and import workflows with their activities on the task
// queue, and the mail activity on its own queue, whose dispatch rate the Temporal server holds to the relay's limit.
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { mailTaskQueue, type CertificateActivities } from '../workflows/definitions';
import type { ImportActivities } from '../workflows/import-definitions';

export interface CertflowWorkerOptions {
  connection: NativeConnection;
  /** Default: 'default'. */
  namespace?: string;
  taskQueue: string;
  activities: CertificateActivities & ImportActivities;
  /**
   * config.temporal.workflowCacheSize: open workflows kept in memory; one evicted is replayed from its history when its
   * timer, update or signal wakes it. Unset: the SDK's default, sized from the heap (thousands: RSS grows with them);
   * 0 also turns sticky task queues off.
   */
  maxCachedWorkflows?: number;
  /** config.smtp.maxMailsPerSecond: the mail queue's dispatch rate, for every worker on it; unset, no limit is asked for. */
  mailMaxPerSecond?: number;
}

/** What a process runs and stops: the workflow worker and the mail worker, together. */
export interface CertflowWorker {
  /** Resolves when both have stopped; a failure of either stops the other and rejects. */
  run(): Promise<void>;
  shutdown(): void;
  getState(): ReturnType<Worker['getState']>;
  /** The workflow worker's status (its cache, its slots). */
  getStatus(): ReturnType<Worker['getStatus']>;
}

/** Workflow tasks at once: the SDK's default, but never more than the cache holds (the SDK requires it). */
export function workflowTaskSlots(maxCachedWorkflows: number | undefined): number | undefined {
  return maxCachedWorkflows ? Math.min(40, maxCachedWorkflows) : undefined;
}

/**
 * The worker of the mail queue: the mail activity alone. maxTaskQueueActivitiesPerSecond is enforced by the server for
 * the whole queue (split over its partitions), so every process's mail worker together stays within it; each poller
 * sends it again, and the last one wins, so every process must have the same value.
 */
export function createMailWorker(o: {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  sendLifecycleMails: CertificateActivities['sendLifecycleMails'];
  maxPerSecond?: number;
}): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: mailTaskQueue(o.taskQueue),
    activities: { sendLifecycleMails: o.sendLifecycleMails },
    maxTaskQueueActivitiesPerSecond: o.maxPerSecond,
  });
}

export async function createCertflowWorker(o: CertflowWorkerOptions): Promise<CertflowWorker> {
  // Bundled here rather than by Worker.create, so webpack's report of the bundle stays out of the start-up output.
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN') });
  const workflows = await Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    workflowBundle,
    // The mail activity stays here too: mails scheduled before the mail queue existed are still on this queue.
    activities: o.activities,
    maxCachedWorkflows: o.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: workflowTaskSlots(o.maxCachedWorkflows),
  });
  const mail = await createMailWorker({ ...o, sendLifecycleMails: o.activities.sendLifecycleMails, maxPerSecond: o.mailMaxPerSecond });
  return combineWorkers(workflows, mail);
}

/** Runs workers as one: the first's state stands for them, and one that stops with an error stops the others. */
export function combineWorkers(first: Worker, ...others: Worker[]): CertflowWorker {
  const all = [first, ...others];
  const shutdown = () => {
    for (const w of all) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    async run() {
      const results = await Promise.allSettled(
        all.map((w) =>
          w.run().catch((err: unknown) => {
            shutdown();
            throw err;
          }),
        ),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    shutdown,
    getState: () => first.getState(),
    getStatus: () => first.getStatus(),
  };
}
