// The application's stores, built once per process by the composition root and handed to the domain and activities.
import type { Db } from '../infra/db';
import { createAuditStore, type AuditStore } from './audit';
import { createImportStore, type ImportStore } from './imports';
import { createOperatorStore, type OperatorStore } from './operators';
import { createRequestStore, type RequestStore } from './requests';
import { createSupportSearchStore, type SupportSearchStore } from './support-search';
import { createUserStore, type UserStore } from './users';

export interface Stores {
  users: UserStore;
  requests: RequestStore;
  audit: AuditStore;
  imports: ImportStore;
  operators: OperatorStore;
  /** The support console's finds and lists (read-only). */
  search: SupportSearchStore;
  /** Runs `work` with stores whose writes commit together or not at all. */
  inTransaction<T>(work: (stores: Omit<Stores, 'inTransaction'>) => Promise<T>): Promise<T>;
}

function storesOn(db: Db): Omit<Stores, 'inTransaction'> {
  return {
    users: createUserStore(db),
    requests: createRequestStore(db),
    audit: createAuditStore(db),
    operators: createOperatorStore(db),
    search: createSupportSearchStore(db),
    imports: createImportStore(db),
  };
}

export function createStores(db: Db): Stores {
  return { ...storesOn(db), inTransaction: (work) => db.transaction((trx) => work(storesOn(trx))) };
}

export type { AuditStore, AuditEvent, AuditOutcome, AuditSearch, RecordedAuditEvent } from './audit';
export { SEARCH_FIELDS, type SearchField, type SupportRow, type SupportSearchStore, type RequestSearch, type Page } from './support-search';
export type { RequestStore, IssuanceRequest, RequestFilter, NewRequest } from './requests';
export type { UserStore, User } from './users';
export type { ImportStore, ImportRecord, ImportFailure, NewImportLine, PendingImportLine, LineOutcome, FieldProblem } from './imports';
export type { OperatorStore, Operator, OperatorRole } from './operators';
