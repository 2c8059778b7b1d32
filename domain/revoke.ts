// Revocation (admin) with an RFC 5280 reason: the workflow revokes the certificate, which then appears in the CRL.
import type { CertificateStatus, RevocationReason } from '../workflows/definitions';
import type { Actor, DomainDeps } from './deps';
import { currentRequest, resolveUser, revokeRenewedPredecessors } from './request-chain';

export async function revoke(
  deps: Pick<DomainDeps, 'stores' | 'certificates'>,
  actor: Actor,
  target: { userId: string; profile?: string; reason: RevocationReason },
): Promise<{ requestId: string; workflowId: string; status: CertificateStatus; alsoRevokedRequestIds: string[] }> {
  const user = await resolveUser(deps.stores, target.userId, target.profile);
  const current = await currentRequest(deps.stores, user);
  const status = await deps.certificates.update(current, 'revoke', { reason: target.reason, agent: actor.agent });
  const alsoRevokedRequestIds = await revokeRenewedPredecessors(deps, actor, current, target.reason);
  return { requestId: current.requestId, workflowId: current.workflowId, status, alsoRevokedRequestIds };
}
