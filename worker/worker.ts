// The Temporal worker that runs certificate and import workflows and their activities.
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import type { CertificateActivities } from '../workflows/definitions';
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
}

/** Workflow tasks at once: the SDK's default, but never more than the cache holds (the SDK requires it). */
export function workflowTaskSlots(maxCachedWorkflows: number | undefined): number | undefined {
  return maxCachedWorkflows ? Math.min(40, maxCachedWorkflows) : undefined;
}

export async function createCertflowWorker(o: CertflowWorkerOptions): Promise<Worker> {
  // Bundled here rather than by Worker.create, so webpack's report of the bundle stays out of the start-up output.
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN') });
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    workflowBundle,
    activities: o.activities,
    maxCachedWorkflows: o.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: workflowTaskSlots(o.maxCachedWorkflows),
  });
}
