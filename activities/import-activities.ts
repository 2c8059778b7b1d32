// Activities of the import workflow: register the next lines of an import, each once, and report progress.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ImportStore, LineOutcome } from '../stores';
import type { ImportActivities, ImportKind, ImportProgress } from '../workflows/import-definitions';

/** One line to register, as the import stored it. */
export interface LineRegistration {
  kind: ImportKind;
  payload: unknown;
  /** An earlier attempt claimed the line and may have registered it before it stopped. */
  resumed: boolean;
}

/**
 * Registers one line over the worker's Temporal client (the kind's use case, filled in by the composition root). A
 * refusal is an outcome; trouble that may pass throws, and the batch is retried from the first unfinished line.
 */
export type LineRegistrar = (line: LineRegistration, client: Client) => Promise<LineOutcome>;

export interface ImportActivityDeps {
  imports: ImportStore;
  registerLine: LineRegistrar;
  /** Lines of a batch registered at once (default 4): a registration mostly waits for argon2, the database and Temporal. */
  lanes?: number;
}

export function createImportActivities({ imports, registerLine, lanes = 4 }: ImportActivityDeps): ImportActivities {
  async function progressOf(importId: string): Promise<ImportProgress> {
    const progress = await imports.progress(importId);
    if (!progress) throw ApplicationFailure.nonRetryable(`unknown import ${importId}`, 'UnknownImport');
    return progress;
  }

  return {
    importProgress: ({ importId }) => progressOf(importId),

    /**
     * Each line is claimed before and finished after its registration, so a retried batch skips finished lines and
     * knows which one an earlier attempt may have registered; a worker shutting down stops it between two lines.
     */
    async registerImportBatch({ importId, batchSize }) {
      const context = Context.current();
      const { kind } = await progressOf(importId);
      const lines = await imports.nextLines(importId, batchSize);
      let next = 0;
      let failed = false;
      const lane = async () => {
        // After a failure no lane takes another line: the retry starts from the first unfinished one.
        while (next < lines.length && !failed) {
          const line = lines[next++]!;
          context.cancellationSignal.throwIfAborted();
          await imports.claimLine(importId, line.lineNo);
          const outcome = await registerLine({ kind, payload: line.payload, resumed: line.status === 'registering' }, context.client);
          await imports.finishLine(importId, line.lineNo, outcome);
          context.heartbeat(line.lineNo);
        }
      };
      const settled = await Promise.allSettled(Array.from({ length: Math.min(lanes, lines.length) }, () => lane().catch((err) => { failed = true; throw err; })));
      const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (rejected) throw rejected.reason;
      return progressOf(importId);
    },

    async finishImport({ importId }) {
      await imports.finish(importId, new Date());
      return progressOf(importId);
    },
  };
}

export type { ImportActivities };
