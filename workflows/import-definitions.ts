// The shared vocabulary of imports (bulk registration, migration import): the import workflow's name, query, progress
// and the activities it calls. The lines themselves never travel through Temporal: they wait in the database.
import { defineQuery } from '@temporalio/workflow';

/** What an import registers, one line at a time; each kind has its line rules and registration in the domain. */
export const IMPORT_KINDS = ['users', 'certificates'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/** The ID of an import: its kind and the SHA-256 of the file's bytes, so the same file is the same import. */
export function importId(kind: ImportKind, sha256Hex: string): string {
  return `${kind}-${sha256Hex}`;
}

export function importWorkflowId(id: string): string {
  return `import-${id}`;
}

/** A line's way through an import: refused at validation, or pending → registering → done | failed. */
export const IMPORT_LINE_STATUSES = ['refused', 'pending', 'registering', 'done', 'failed'] as const;
export type ImportLineStatus = (typeof IMPORT_LINE_STATUSES)[number];

export interface ImportProgress {
  importId: string;
  kind: ImportKind;
  status: 'running' | 'finished';
  /** Lines in the file (the header and blank lines aside). */
  total: number;
  /** Refused at validation: never registered. */
  refused: number;
  done: number;
  /** Refused at registration (e.g. registered by someone else since the validation). */
  failed: number;
  /** Still to register. */
  remaining: number;
  /** Share of the lines to register that are done or failed, 0–100 (100 when there is none). */
  percent: number;
}

export interface ImportWorkflowInput {
  importId: string;
  /** Lines per activity: progress moves by this step. */
  batchSize: number;
}

export const IMPORT_WORKFLOW_TYPE = 'importWorkflow';
export type ImportWorkflow = (input: ImportWorkflowInput) => Promise<ImportProgress>;
export const DEFAULT_IMPORT_BATCH_SIZE = 20;

/** The progress as of the last finished batch; undefined only before the first activity has answered. */
export const importProgressQuery = defineQuery<ImportProgress | undefined>('importProgress');

export interface ImportActivities {
  importProgress(input: { importId: string }): Promise<ImportProgress>;
  /** Registers up to batchSize of the remaining lines; a retry never registers a finished line again. */
  registerImportBatch(input: { importId: string; batchSize: number }): Promise<ImportProgress>;
  finishImport(input: { importId: string }): Promise<ImportProgress>;
}
