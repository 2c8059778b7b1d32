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
  /** Workflows kept in the worker's cache (the SDK's default unless set); 0 also turns sticky task queues off. */
  maxCachedWorkflows?: number;
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
  });
}
