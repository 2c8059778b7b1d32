// The application's stores, built once per process by the composition root and handed to the domain and activities.
import type { Db } from '../infra/db';
import { createAuditStore, type AuditStore } from './audit';
import { createIdempotencyStore, type IdempotencyStore } from './idempotency';
import { createImportStore, type ImportStore } from './imports';
import { createImportedCertificateStore, type ImportedCertificateStore } from './imported-certificates';
import { createLoginFailureStore, type LoginFailureStore } from './login-failures';
import { createOperatorStore, type OperatorStore } from './operators';
import { createRequestStore, type RequestStore } from './requests';
import { createSupportSearchStore, type SupportSearchStore } from './support-search';
import { createUserStore, type UserStore } from './users';

export interface Stores {
  users: UserStore;
  requests: RequestStore;
  audit: AuditStore;
  operators: OperatorStore;
  /** Failed logins per user ID as typed, for login throttling. */
  loginFailures: LoginFailureStore;
  /** The support console's finds and lists (read-only). */
  search: SupportSearchStore;
  /** The support API's Idempotency-Key answers. */
  idempotency: IdempotencyStore;
  importedCertificates: ImportedCertificateStore;
  imports: ImportStore;
  /** Runs `work` with stores whose writes commit together or not at all. */
  inTransaction<T>(work: (stores: Omit<Stores, 'inTransaction'>) => Promise<T>): Promise<T>;
}

export interface StoreKeys {
  /** The audit chain's HMAC key: deriveAuditKey(config.dataKey). */
  auditKey: Buffer;
}

function storesOn(db: Db, keys: StoreKeys): Omit<Stores, 'inTransaction'> {
  return {
    users: createUserStore(db),
    requests: createRequestStore(db),
    audit: createAuditStore(db, keys.auditKey),
    operators: createOperatorStore(db),
    loginFailures: createLoginFailureStore(db),
    search: createSupportSearchStore(db),
    idempotency: createIdempotencyStore(db),
    importedCertificates: createImportedCertificateStore(db),
    imports: createImportStore(db),
  };
}

export function createStores(db: Db, keys: StoreKeys): Stores {
  return { ...storesOn(db, keys), inTransaction: (work) => db.transaction((trx) => work(storesOn(trx, keys))) };
}

export type { AuditStore, AuditEvent, AuditOutcome, AuditSearch, RecordedAuditEvent, AuditChainReport } from './audit';
export { deriveAuditKey, chainUnchainedAuditRows } from './audit';
export { SEARCH_FIELDS, type SearchField, type SupportRow, type SupportSearchStore, type RequestSearch, type Page } from './support-search';
export type { RequestStore, IssuanceRequest, RequestFilter, NewRequest } from './requests';
export type { UserStore, User } from './users';
export type { IdempotencyStore, IdempotencyClaim, StoredAnswer } from './idempotency';
export type { LoginFailureStore, LoginFailures } from './login-failures';
export type { OperatorStore, Operator, OperatorRole } from './operators';
export type { ImportedCertificateStore, ImportedCertificateRow } from './imported-certificates';
export type { ImportStore, ImportRecord, ImportFailure, NewImportLine, PendingImportLine, LineOutcome, FieldProblem } from './imports';
