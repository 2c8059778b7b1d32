// Imports from a file: read and validate every line first, then hand the valid ones to an import workflow that
// registers them in batches. Generic over the line kind; each kind brings its rules (domain/import-kinds.ts).
import crypto from 'node:crypto';
import type { FieldProblem, ImportFailure, LineOutcome, NewImportLine } from '../stores';
import { importId as importIdOf, type ImportKind, type ImportProgress } from '../workflows/import-definitions';
import { parseCsv, type CsvEncoding } from './csv-file';
import type { Actor, DomainDeps } from './deps';
import type { ImportKindRules } from './import-kind';
import { IMPORT_KIND_RULES } from './import-kinds';
import { Refusal } from './refusal';

/** The largest file accepted: about 30,000 users. */
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;

export interface RefusedLine {
  line: number;
  label?: string;
  errors: FieldProblem[];
}

export interface ValidationReport {
  encoding: CsvEncoding | string;
  /** Lines in the file, the header and blank lines aside. */
  total: number;
  valid: number;
  refused: number;
  /** Each refused line with each of its bad fields, in file order. */
  refusedLines: RefusedLine[];
}

export type ImportSubmission =
  | { importId: string; started: false; report: ValidationReport }
  | { importId: string; started: true; existing: boolean; report: ValidationReport; progress: ImportProgress };

export interface ImportView {
  importId: string;
  kind: ImportKind;
  encoding: string;
  createdBy: string;
  createdAt: Date;
  finishedAt?: Date;
  progress: ImportProgress;
  /** Lines refused at validation or failed at registration, in file order. */
  failures: ImportFailure[];
}

/**
 * Validates the file and, when every line is valid or the operator chose to register the valid lines, starts its
 * import. A file imported before (same bytes) is that import: its progress is returned and nobody is registered twice.
 */
export async function submitImport(
  deps: DomainDeps,
  actor: Actor,
  o: { kind: ImportKind; file: Buffer; registerValidLines: boolean },
): Promise<ImportSubmission> {
  if (o.file.length > MAX_IMPORT_BYTES) throw Refusal.invalid(`the file is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MB`, 'file');
  const importId = importIdOf(o.kind, crypto.createHash('sha256').update(o.file).digest('hex'));
  const existing = await resumeExisting(deps, importId);
  if (existing) return existing;

  const rules = IMPORT_KIND_RULES[o.kind] as ImportKindRules<unknown>;
  const { lines, report } = await validate(deps, rules, o.file);
  if (report.valid === 0 || (report.refused > 0 && !o.registerValidLines)) return { importId, started: false, report };

  const created = await deps.stores.imports.create({ importId, kind: o.kind, encoding: report.encoding, createdBy: actor.agent, createdAt: new Date() }, lines);
  if (!created) return (await resumeExisting(deps, importId))!;
  await deps.importWorkflows.start(importId);
  return { importId, started: true, existing: false, report, progress: (await deps.stores.imports.progress(importId))! };
}

/** The import of this ID, its workflow started again should it have been cut off before it started. */
async function resumeExisting(deps: DomainDeps, importId: string): Promise<ImportSubmission | undefined> {
  const record = await deps.stores.imports.find(importId);
  if (!record) return undefined;
  if (record.status === 'running') await deps.importWorkflows.start(importId);
  const progress = (await deps.stores.imports.progress(importId))!;
  const refusedLines = (await deps.stores.imports.failures(importId, { limit: Number.MAX_SAFE_INTEGER }))
    .filter((f) => f.status === 'refused')
    .map(({ line, label, errors }) => ({ line, ...(label ? { label } : {}), errors }));
  const report = { encoding: record.encoding, total: progress.total, valid: progress.total - progress.refused, refused: progress.refused, refusedLines };
  return { importId, started: true, existing: true, report, progress };
}

/** Every line checked: the file's CSV, each field by the kind's rules, repeats within the file, and what is registered already. */
async function validate(deps: DomainDeps, rules: ImportKindRules<unknown>, file: Buffer): Promise<{ lines: NewImportLine[]; report: ValidationReport }> {
  const csv = parseCsv(file, rules.columns);
  const read = csv.records.map((record) => {
    if (record.fieldCount !== csv.columns.length) {
      return { lineNo: record.line, errors: [{ field: 'line', message: `has ${record.fieldCount} fields where the header has ${csv.columns.length}` }] };
    }
    return { lineNo: record.line, ...rules.readLine(record.fields) };
  });
  const valid = read.filter((r): r is typeof r & { line: unknown; label: string } => 'line' in r);
  const registered = await rules.registeredAlready(deps, valid.map((r) => r.line));
  const firstLineOf = new Map<string, number>();
  const lines: NewImportLine[] = read.map((r) => {
    if (!('line' in r)) return { lineNo: r.lineNo, status: 'refused', ...('label' in r && r.label ? { label: r.label } : {}), errors: r.errors };
    const key = rules.key(r.line);
    const first = firstLineOf.get(key);
    if (first !== undefined) {
      return { lineNo: r.lineNo, status: 'refused', label: r.label, errors: [{ ...rules.registeredAlreadyError(r.line), message: `repeats line ${first}` }] };
    }
    firstLineOf.set(key, r.lineNo);
    if (registered.has(key)) return { lineNo: r.lineNo, status: 'refused', label: r.label, errors: [rules.registeredAlreadyError(r.line)] };
    return { lineNo: r.lineNo, status: 'pending', label: r.label, payload: r.line };
  });
  if (lines.length === 0) throw Refusal.invalid('the file has a header line but no line to import', 'file');
  const refusedLines = lines.flatMap((l) => (l.status === 'refused' ? [{ line: l.lineNo, ...(l.label ? { label: l.label } : {}), errors: l.errors }] : []));
  return {
    lines,
    report: { encoding: csv.encoding, total: lines.length, valid: lines.length - refusedLines.length, refused: refusedLines.length, refusedLines },
  };
}

/** An import's progress and failures, from the database (the workflow writes there before it answers). */
export async function getImport(deps: Pick<DomainDeps, 'stores'>, importId: string, options: { failureLimit?: number } = {}): Promise<ImportView> {
  const record = await deps.stores.imports.find(importId);
  if (!record) throw Refusal.notFound(`no import ${importId}`);
  const progress = (await deps.stores.imports.progress(importId))!;
  const failures = await deps.stores.imports.failures(importId, { limit: options.failureLimit ?? 1000 });
  const { kind, encoding, createdBy, createdAt, finishedAt } = record;
  return { importId, kind, encoding, createdBy, createdAt, ...(finishedAt ? { finishedAt } : {}), progress, failures };
}

/** What the import activity calls for each line: the kind's registration over the domain. */
export function registerImportLine(deps: DomainDeps, line: { kind: ImportKind; payload: unknown; resumed: boolean }): Promise<LineOutcome> {
  return (IMPORT_KIND_RULES[line.kind] as ImportKindRules<unknown>).register(deps, line.payload, line.resumed);
}
