// The application's stores, built once per process by the composition root and handed to the domain and activities.
import type { Db } from '../infra/db';
import { createAuditStore, type AuditStore } from './audit';
import { createImportStore, type ImportStore } from './imports';
import { createImportedCertificateStore, type ImportedCertificateStore } from './imported-certificates';
import { createRequestStore, type RequestStore } from './requests';
import { createUserStore, type UserStore } from './users';

export interface Stores {
  users: UserStore;
  requests: RequestStore;
  audit: AuditStore;
  importedCertificates: ImportedCertificateStore;
  imports: ImportStore;
  /** Runs `work` with stores whose writes commit together or not at all. */
  inTransaction<T>(work: (stores: Omit<Stores, 'inTransaction'>) => Promise<T>): Promise<T>;
}

function storesOn(db: Db): Omit<Stores, 'inTransaction'> {
  return {
    users: createUserStore(db),
    requests: createRequestStore(db),
    audit: createAuditStore(db),
    importedCertificates: createImportedCertificateStore(db),
    imports: createImportStore(db),
  };
}

export function createStores(db: Db): Stores {
  return { ...storesOn(db), inTransaction: (work) => db.transaction((trx) => work(storesOn(trx))) };
}

export type { AuditStore, AuditEvent, AuditOutcome, RecordedAuditEvent } from './audit';
export type { RequestStore, IssuanceRequest, RequestFilter, NewRequest } from './requests';
export type { UserStore, User } from './users';
export type { ImportedCertificateStore, ImportedCertificateRow } from './imported-certificates';
export type { ImportStore, ImportRecord, ImportFailure, NewImportLine, PendingImportLine, LineOutcome, FieldProblem } from './imports';
