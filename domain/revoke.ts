// Revocation (admin) with an RFC 5280 reason: the workflow revokes the certificate, which then appears in the CRL.
import { revokeUpdate, type CertificateStatus, type RevocationReason } from '../workflows/definitions';
import { asConflict, currentRequest, resolveUser, revokeRenewedPredecessors, type Actor, type UseCaseDeps } from './context';

export async function revoke(
  deps: UseCaseDeps,
  actor: Actor,
  target: { userId: string; profile?: string; reason: RevocationReason },
): Promise<{ requestId: string; workflowId: string; status: CertificateStatus; alsoRevokedRequestIds: string[] }> {
  const user = await resolveUser(deps.db, target.userId, target.profile);
  const current = await currentRequest(deps.db, user);
  try {
    const status = await deps.client.workflow
      .getHandle(current.workflowId)
      .executeUpdate(revokeUpdate, { args: [{ reason: target.reason, agent: actor.agent }] });
    const alsoRevokedRequestIds = await revokeRenewedPredecessors(deps, actor, current, target.reason);
    return { requestId: current.requestId, workflowId: current.workflowId, status, alsoRevokedRequestIds };
  } catch (err) {
    throw asConflict(err, current, 'revocation');
  }
}
