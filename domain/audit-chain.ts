// The audit trail's integrity check, for the support API and the CLI: every row's link to the previous one, from the
// first row to the chain head, with the installation's key.
import type { AuditChainReport } from '../stores';
import type { DomainDeps } from './deps';

export type { AuditChainReport } from '../stores';

/** Reads the whole trail; intact, or the first row whose link does not hold (edited, removed before it, inserted). */
export async function verifyAuditChain(deps: Pick<DomainDeps, 'stores'>): Promise<AuditChainReport> {
  return deps.stores.audit.verify();
}
