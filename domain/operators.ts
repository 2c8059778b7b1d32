// certflow's operators: added with a certificate of profile operators (the ordinary enrollment, by mail), disabled
// with that certificate revoked at once, and recognised by the console from a certificate plus their row here.
import type { Operator, OperatorRole } from '../stores';
import { OPERATORS_PROFILE, rulesOf, type RevocationReason } from '../workflows/definitions';
import { businessNow, type Actor, type DomainDeps } from './deps';
import type { PresentedCertificate } from './client-certificate';
import { registerUser, type RegisteredUser } from './register-user';
import { Refusal } from './refusal';
import { currentRequest, revokeRenewedPredecessors } from './request-chain';

/** RFC 5280: "the privilege granted in the certificate has been withdrawn" — the operator may no longer act. */
export const OPERATOR_DISABLE_REASON: RevocationReason = 'privilegeWithdrawn';
/** The subject's OU of every operator certificate; the role is never in the certificate. */
export const OPERATOR_UNIT = 'operators';

export interface NewOperator {
  agentId: string;
  role: OperatorRole;
  email: string;
}

/** Registers the operator and starts the enrollment of profile operators: the password and guide mails go to `email`. */
export async function addOperator(deps: DomainDeps, actor: Actor, o: NewOperator): Promise<Operator & { enrollment: RegisteredUser }> {
  const { operators } = deps.stores;
  const duplicate = () => new Refusal('duplicate', `operator ${o.agentId} already exists`);
  if (await operators.find(o.agentId)) throw duplicate();
  const now = await businessNow(deps);
  try {
    await operators.insert({ ...o, createdAt: now, createdBy: actor.agent });
  } catch (err) {
    // A concurrent addition of the same agent won the primary key.
    if (await operators.find(o.agentId)) throw duplicate();
    throw err;
  }
  try {
    const enrollment = await registerUser(
      deps,
      {
        userId: o.agentId,
        profile: OPERATORS_PROFILE,
        email: o.email,
        idAdminEmail: o.email,
        organization: deps.profiles.operators.caOrganization,
        organizationalUnits: [OPERATOR_UNIT],
        subscriberId: o.agentId,
      },
      { notifyIdAdministrator: false },
    );
    return { ...(await operators.find(o.agentId))!, enrollment };
  } catch (err) {
    await operators.remove(o.agentId);
    throw err;
  }
}

/** Disables the operator and revokes every certificate they still hold (reason privilegeWithdrawn), at once. */
export async function disableOperator(deps: DomainDeps, actor: Actor, agentId: string): Promise<Operator & { revokedRequestIds: string[] }> {
  const { operators, users } = deps.stores;
  const operator = await operators.find(agentId);
  if (!operator) throw Refusal.notFound(`no operator ${agentId}`);
  if (!operator.enabled) throw Refusal.conflict(`operator ${agentId} is already disabled`);
  if (actor.agent === agentId) throw new Refusal('forbidden', 'an operator cannot disable themselves');
  // Disabled first: the console refuses the operator from this moment, whatever the revocation meets.
  if (!(await operators.disable(agentId, actor.agent, await businessNow(deps)))) throw Refusal.conflict(`operator ${agentId} is already disabled`);
  const revokedRequestIds: string[] = [];
  const user = await users.find(agentId, OPERATORS_PROFILE);
  if (user?.currentRequestId) {
    const current = await currentRequest(deps.stores, user);
    if (!rulesOf(current.status).ended) {
      try {
        await deps.certificates.update(current, 'revoke', { reason: OPERATOR_DISABLE_REASON, agent: actor.agent });
        revokedRequestIds.push(current.requestId);
      } catch (err) {
        // The projection lagged a workflow that has just ended: nothing left to revoke.
        if (!(err instanceof Refusal && err.code === 'requestEnded')) throw err;
      }
    }
    revokedRequestIds.push(...(await revokeRenewedPredecessors(deps, actor, current, OPERATOR_DISABLE_REASON)));
  }
  return { ...(await operators.find(agentId))!, revokedRequestIds };
}

export async function listOperators(deps: Pick<DomainDeps, 'stores'>): Promise<Operator[]> {
  return deps.stores.operators.list();
}

export type OperatorVerdict = { ok: true; actor: Actor; operator: Operator } | { ok: false; refusal: 'unknownOperator' | 'disabledOperator' };

/**
 * Who a valid, unrevoked certificate of the operators CA belongs to (checked by the caller): an enabled operator and
 * the role their row gives, whatever the certificate says.
 */
export async function operatorFor(deps: Pick<DomainDeps, 'stores'>, certificate: PresentedCertificate): Promise<OperatorVerdict> {
  if (certificate.profile !== OPERATORS_PROFILE) return { ok: false, refusal: 'unknownOperator' };
  const operator = await deps.stores.operators.find(certificate.userId);
  if (!operator) return { ok: false, refusal: 'unknownOperator' };
  if (!operator.enabled) return { ok: false, refusal: 'disabledOperator' };
  return { ok: true, operator, actor: { agent: operator.agentId, role: operator.role } };
}
