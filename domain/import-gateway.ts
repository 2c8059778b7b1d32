// The client-side door to import workflows: start one (once per import ID, ever) and ask its live progress.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import {
  DEFAULT_IMPORT_BATCH_SIZE,
  IMPORT_WORKFLOW_TYPE,
  importProgressQuery,
  importWorkflowId,
  type ImportProgress,
  type ImportWorkflow,
} from '../workflows/import-definitions';
import { Refusal } from './refusal';

export interface ImportGateway {
  /** Starts the import's workflow unless one of that ID runs or ran; a Temporal refusal is `unavailable`. */
  start(importId: string): Promise<{ workflowId: string }>;
  /** The workflow's own progress while it runs; undefined once it has closed or before it answers. */
  liveProgress(importId: string): Promise<ImportProgress | undefined>;
}

export function createImportGateway({ client, taskQueue, batchSize = DEFAULT_IMPORT_BATCH_SIZE }: { client: Client; taskQueue: string; batchSize?: number }): ImportGateway {
  return {
    async start(importId) {
      const workflowId = importWorkflowId(importId);
      try {
        await client.workflow.start<ImportWorkflow>(IMPORT_WORKFLOW_TYPE, {
          taskQueue,
          workflowId,
          args: [{ importId, batchSize }],
          // The same file never runs twice, even once its first import has finished.
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId };
        throw Object.assign(new Refusal('unavailable', 'the import workflow could not be started; its lines are kept, and submitting the same file again starts it'), { cause: err });
      }
      return { workflowId };
    },

    async liveProgress(importId) {
      try {
        return await client.workflow.getHandle(importWorkflowId(importId)).query(importProgressQuery);
      } catch {
        // Closed, not found or unreachable: the database's progress is the answer then.
        return undefined;
      }
    },
  };
}
