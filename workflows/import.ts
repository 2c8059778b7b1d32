// One workflow per import: batches of the lines waiting in the database, until none remains. It holds only counts.
import { continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { importProgressQuery, type ImportActivities, type ImportProgress, type ImportWorkflowInput } from './import-definitions';

const { importProgress, registerImportBatch, finishImport } = proxyActivities<ImportActivities>({
  // A batch heartbeats after each line: a worker that died is noticed within the heartbeat timeout.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function importWorkflow(input: ImportWorkflowInput): Promise<ImportProgress> {
  let progress: ImportProgress | undefined;
  setHandler(importProgressQuery, () => progress);
  progress = await importProgress({ importId: input.importId });
  while (progress.remaining > 0) {
    // A long file would outgrow one history: carry on in a fresh run (the lines' statuses are in the database).
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof importWorkflow>(input);
    progress = await registerImportBatch({ importId: input.importId, batchSize: input.batchSize });
  }
  progress = await finishImport({ importId: input.importId });
  return progress;
}
