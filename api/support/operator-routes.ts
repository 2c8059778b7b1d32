// The operators of the console, for admins: add one (its certificate's enrollment starts by mail), disable one (its
// certificate revoked at once), list them. `npm run cli -- operator …` calls these.
import { Router, type Request, type Response } from 'express';
import { addOperator, disableOperator, listOperators, resetEnrollmentPassword, type Actor, type DomainDeps } from '../../domain';
import { HttpError } from '../errors';
import { audited } from './audit';
import { permits } from './auth';
import { operatorSchema, parse, requestIdSchema, userIdSchema } from './schemas';

const adminOf = (res: Response): Actor => {
  const actor = res.locals.actor as Actor;
  if (!permits(actor, 'admin')) throw HttpError.forbidden(`operators are managed by the admin role; ${actor.agent} has ${actor.role}`);
  return actor;
};

/** Mounted inside the support API's router (bearer token already checked, JSON parsed). */
export function createOperatorRoutes(deps: DomainDeps): Router {
  const router = Router();
  const agentTarget = (req: Request) => `operator:${req.params.agentId ?? (req.body as { agentId?: unknown } | undefined)?.agentId ?? '?'}`;

  router.post('/operators', async (req, res) => {
    const actor = res.locals.actor as Actor;
    const added = await audited(deps.stores.audit, actor, {
      action: 'addOperator',
      target: agentTarget(req),
      run: () => (adminOf(res), addOperator(deps, actor, parse(operatorSchema, req.body))),
      detail: (o) => ({ role: o.role, requestId: o.enrollment.requestId }),
    });
    const { enrollment, ...operator } = added;
    res.status(201).json({ ...operator, requestId: enrollment.requestId, workflowId: enrollment.workflowId });
  });

  router.post('/operators/:agentId/disable', async (req, res) => {
    const actor = res.locals.actor as Actor;
    const disabled = await audited(deps.stores.audit, actor, {
      action: 'disableOperator',
      target: agentTarget(req),
      run: () => (adminOf(res), disableOperator(deps, actor, parse(userIdSchema, req.params.agentId, 'agentId'))),
      detail: (o) => ({ revokedRequestIds: o.revokedRequestIds }),
    });
    res.status(200).json(disabled);
  });

  // An operator who lost the password mail: a new one, shown once to the admin (the request must await key retrieval).
  router.post('/operators/requests/:requestId/password-reset', async (req, res) => {
    const actor = res.locals.actor as Actor;
    const reset = await audited(deps.stores.audit, actor, {
      action: 'operatorPasswordReset',
      target: `request:${req.params.requestId}`,
      run: () => (adminOf(res), resetEnrollmentPassword(deps, parse(requestIdSchema, req.params.requestId, 'requestId'), { operators: true })),
      detail: (r) => ({ userId: r.userId, profile: r.profile }),
    });
    res.status(200).json({ requestId: reset.requestId, enrollmentPassword: reset.enrollmentPassword });
  });

  router.get('/operators', async (_req, res) => {
    adminOf(res);
    res.json(await listOperators(deps));
  });
  return router;
}
