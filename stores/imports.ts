// Data access for imports: the file's row and its lines, each with a status, so progress is read from the database.
import type { Db } from '../infra/db';
import type { ImportKind, ImportLineStatus, ImportProgress } from '../workflows/import-definitions';

export interface ImportRecord {
  importId: string;
  kind: ImportKind;
  encoding: string;
  status: 'running' | 'finished';
  createdBy: string;
  createdAt: Date;
  finishedAt?: Date;
}

export interface FieldProblem {
  field: string;
  message: string;
}

export type NewImportLine =
  | { lineNo: number; status: 'pending'; label: string; payload: unknown }
  | { lineNo: number; status: 'refused'; label?: string; errors: FieldProblem[] };

/** A line to register, as the batch activity reads it. */
export interface PendingImportLine {
  lineNo: number;
  /** 'registering': an earlier attempt claimed it and may have registered it before it stopped. */
  status: 'pending' | 'registering';
  label: string;
  payload: unknown;
}

/** A line that was not registered, and why. */
export interface ImportFailure {
  line: number;
  label?: string;
  status: 'refused' | 'failed';
  /** refused: each bad field; failed: the registration's reason as one entry without a field. */
  errors: FieldProblem[];
}

export type LineOutcome = { status: 'done'; result: string } | { status: 'failed'; reason: string };

export interface ImportStore {
  /** The import and all its lines at once; false when an import of the same ID exists already. */
  create(record: Omit<ImportRecord, 'status' | 'finishedAt'>, lines: NewImportLine[]): Promise<boolean>;
  find(importId: string): Promise<ImportRecord | undefined>;
  progress(importId: string): Promise<ImportProgress | undefined>;
  /** Refused and failed lines in file order. */
  failures(importId: string, options?: { limit?: number }): Promise<ImportFailure[]>;
  /** The next lines still to register, in file order. */
  nextLines(importId: string, limit: number): Promise<PendingImportLine[]>;
  /** pending → registering, before its registration starts. */
  claimLine(importId: string, lineNo: number): Promise<void>;
  /** registering → done | failed; the payload is dropped (the registration holds it now). No-op on a finished line. */
  finishLine(importId: string, lineNo: number, outcome: LineOutcome): Promise<void>;
  finish(importId: string, at: Date): Promise<void>;
}

interface ImportRow {
  import_id: string;
  kind: string;
  encoding: string;
  status: string;
  created_by: string;
  created_at: string | number | Date;
  finished_at: string | number | Date | null;
}

// SQLite returns epoch milliseconds, PostgreSQL a Date.
const toDate = (v: string | number | Date) => (v instanceof Date ? v : new Date(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v));

const toRecord = (r: ImportRow): ImportRecord => ({
  importId: r.import_id,
  kind: r.kind as ImportKind,
  encoding: r.encoding,
  status: r.status as ImportRecord['status'],
  createdBy: r.created_by,
  createdAt: toDate(r.created_at),
  finishedAt: r.finished_at === null ? undefined : toDate(r.finished_at),
});

// Rows per insert: well under SQLite's and PostgreSQL's limits on bound parameters.
const INSERT_CHUNK = 200;
const OPEN: ImportLineStatus[] = ['pending', 'registering'];

export function createImportStore(db: Db): ImportStore {
  return {
    async create(record, lines) {
      const now = new Date();
      try {
        await db.transaction(async (trx) => {
          await trx('imports').insert({
            import_id: record.importId,
            kind: record.kind,
            encoding: record.encoding,
            status: 'running',
            created_by: record.createdBy,
            created_at: record.createdAt,
          });
          const rows = lines.map((line) => ({
            import_id: record.importId,
            line_no: line.lineNo,
            status: line.status,
            label: line.label ?? null,
            payload: line.status === 'pending' ? JSON.stringify(line.payload) : null,
            errors: line.status === 'refused' ? JSON.stringify(line.errors) : null,
            updated_at: now,
          }));
          for (let i = 0; i < rows.length; i += INSERT_CHUNK) await trx('import_lines').insert(rows.slice(i, i + INSERT_CHUNK));
        });
        return true;
      } catch (err) {
        // Another submission of the same file won the primary key.
        if (/unique|duplicate|primary key/i.test((err as Error).message) && (await this.find(record.importId))) return false;
        throw err;
      }
    },

    async find(importId) {
      const row = await db<ImportRow>('imports').where({ import_id: importId }).first();
      return row && toRecord(row);
    },

    async progress(importId) {
      const record = await this.find(importId);
      if (!record) return undefined;
      const rows: Array<{ status: string; n: string | number }> = await db('import_lines')
        .where({ import_id: importId })
        .groupBy('status')
        .select('status')
        .count({ n: '*' });
      const count = (...statuses: ImportLineStatus[]) => rows.filter((r) => statuses.includes(r.status as ImportLineStatus)).reduce((sum, r) => sum + Number(r.n), 0);
      const total = count('refused', 'pending', 'registering', 'done', 'failed');
      const refused = count('refused');
      const done = count('done');
      const failed = count('failed');
      const remaining = count(...OPEN);
      const toRegister = total - refused;
      return {
        importId,
        kind: record.kind,
        status: record.status,
        total,
        refused,
        done,
        failed,
        remaining,
        percent: toRegister === 0 ? 100 : Math.floor(((done + failed) * 100) / toRegister),
      };
    },

    async failures(importId, { limit = 1000 } = {}) {
      const rows: Array<{ line_no: number; status: string; label: string | null; errors: string | null; reason: string | null }> = await db('import_lines')
        .where({ import_id: importId })
        .whereIn('status', ['refused', 'failed'])
        .orderBy('line_no')
        .limit(limit)
        .select('line_no', 'status', 'label', 'errors', 'reason');
      return rows.map((r) => ({
        line: r.line_no,
        ...(r.label ? { label: r.label } : {}),
        status: r.status as ImportFailure['status'],
        errors: r.status === 'refused' ? (JSON.parse(r.errors ?? '[]') as FieldProblem[]) : [{ field: '', message: r.reason ?? '' }],
      }));
    },

    async nextLines(importId, limit) {
      const rows: Array<{ line_no: number; status: string; label: string; payload: string }> = await db('import_lines')
        .where({ import_id: importId })
        .whereIn('status', OPEN)
        .orderBy('line_no')
        .limit(limit)
        .select('line_no', 'status', 'label', 'payload');
      return rows.map((r) => ({ lineNo: r.line_no, status: r.status as PendingImportLine['status'], label: r.label, payload: JSON.parse(r.payload) as unknown }));
    },

    async claimLine(importId, lineNo) {
      await db('import_lines').where({ import_id: importId, line_no: lineNo, status: 'pending' }).update({ status: 'registering', updated_at: new Date() });
    },

    async finishLine(importId, lineNo, outcome) {
      await db('import_lines')
        .where({ import_id: importId, line_no: lineNo })
        .whereIn('status', OPEN)
        .update({
          status: outcome.status,
          payload: null,
          result: outcome.status === 'done' ? outcome.result : null,
          reason: outcome.status === 'failed' ? outcome.reason : null,
          updated_at: new Date(),
        });
    },

    async finish(importId, at) {
      await db('imports').where({ import_id: importId, status: 'running' }).update({ status: 'finished', finished_at: at });
    },
  };
}
