// What a kind of import (users, certificates…) brings to the generic import machinery of domain/imports.ts.
import type { FieldProblem, LineOutcome } from '../stores';
import type { ImportKind } from '../workflows/import-definitions';
import type { DomainDeps } from './deps';

/** What a kind of import brings: its columns, how a record becomes a line, and how a line is registered. */
export interface ImportKindRules<Line> {
  kind: ImportKind;
  /** The header line's column names, in the documented order (any order is accepted). */
  columns: readonly string[];
  /** A record (column → text) as a line to register, or each of its field errors; label names whom it is about. */
  readLine(fields: Record<string, string>): { line: Line; label: string } | { errors: FieldProblem[]; label?: string };
  /** Two lines with the same key register the same thing: the second is refused. */
  key(line: Line): string;
  /** The keys among these lines that are registered already (a per-line error at validation). */
  registeredAlready(deps: DomainDeps, lines: Line[]): Promise<Set<string>>;
  /** Why a registered-already line is refused, naming the field. */
  registeredAlreadyError(line: Line): FieldProblem;
  /**
   * Registers one line (its payload as stored). A refusal is an outcome; trouble that may pass (Temporal or the
   * database unavailable) throws, so the batch is retried. `resumed`: an earlier attempt claimed the line and may
   * have registered it before it stopped, so "registered already" means done.
   */
  register(deps: DomainDeps, payload: unknown, resumed: boolean): Promise<LineOutcome>;
}
