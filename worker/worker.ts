// The Temporal worker that runs certificate and import workflows and their activities.
import { NativeConnection, Worker } from '@temporalio/worker';
import type { CertificateActivities } from '../workflows/definitions';
import type { ImportActivities } from '../workflows/import-definitions';

export interface CertflowWorkerOptions {
  connection: NativeConnection;
  /** Default: 'default'. */
  namespace?: string;
  taskQueue: string;
  activities: CertificateActivities & ImportActivities;
}

export function createCertflowWorker(o: CertflowWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: o.activities,
  });
}
