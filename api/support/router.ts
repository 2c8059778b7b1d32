// The support/admin API: thin JSON routes over the use cases, bearer-token roles, and an audit row for every change.
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { HttpError } from '../errors';
import { routePattern } from '../http-metrics';
import {
  getRequest,
  getUser,
  listCertificates,
  listFailedMails,
  registerUser,
  reissue,
  resetEnrollmentPassword,
  revoke,
  startNewRequest,
  unlockUser,
  type Actor,
  type DomainDeps,
} from '../../domain';
import { audited } from './audit';
import { authenticate, permits, type ApiToken } from './auth';
import { createImportRoutes } from './import-routes';
import { createOperatorRoutes } from './operator-routes';
import {
  certificateListSchema,
  failedMailListSchema,
  parse,
  profileChoiceSchema,
  registrationSchema,
  requestIdSchema,
  revokeSchema,
  userIdSchema,
} from './schemas';

export interface SupportRouterDeps extends DomainDeps {
  apiTokens: ApiToken[];
}

type Role = Actor['role'];

const actorOf = (res: Response): Actor => res.locals.actor as Actor;

function requireRole(actor: Actor, role: Role): void {
  if (!permits(actor, role)) throw HttpError.forbidden(`this action needs the ${role} role; ${actor.agent} has ${actor.role}`);
}

const pathUserId = (req: Request) => parse(userIdSchema, req.params.userId, 'userId');
const pathRequestId = (req: Request) => parse(requestIdSchema, req.params.requestId, 'requestId');

/** `?profile=` or body.profile; both given and different is a contradiction. */
function profileChoice(req: Request, body: { profile?: string }): string | undefined {
  const fromQuery = parse(profileChoiceSchema, { profile: req.query.profile }, 'profile').profile;
  if (fromQuery && body.profile && fromQuery !== body.profile) throw HttpError.badRequest('profile: query and body name different profiles', 'profile');
  return fromQuery ?? body.profile;
}

export function createSupportRouter(deps: SupportRouterDeps): Router {
  const api = Router();

  /** A state-changing route: role check, use case and audit row, including refusals. */
  function command<T>(
    role: Role,
    action: string,
    target: (req: Request) => string,
    run: (req: Request, actor: Actor) => Promise<T>,
    reply: { status: number | ((result: T) => number); body: (result: T) => unknown; detail: (result: T) => Record<string, unknown> },
  ): RequestHandler {
    return async (req, res) => {
      const actor = actorOf(res);
      const result = await audited(deps.stores.audit, actor, {
        action,
        target: target(req),
        run: async () => {
          requireRole(actor, role);
          return run(req, actor);
        },
        detail: reply.detail,
      });
      res.status(typeof reply.status === 'number' ? reply.status : reply.status(result)).json(reply.body(result));
    };
  }

  function query<T>(role: Role, run: (req: Request) => Promise<T>): RequestHandler {
    return async (req, res) => {
      requireRole(actorOf(res), role);
      res.json(await run(req));
    };
  }

  const userTarget = (req: Request) => `user:${req.params.userId ?? (req.body as { userId?: unknown } | undefined)?.userId ?? '?'}`;

  api.post(
    '/users',
    command('admin', 'registerUser', userTarget, (req) => registerUser(deps, parse(registrationSchema, req.body)), {
      status: 201,
      body: (r) => r,
      detail: (r) => ({ profile: r.profile, requestId: r.requestId }),
    }),
  );

  api.post(
    '/users/:userId/reissue',
    command('support', 'reissue', userTarget, (req, actor) => {
      const body = parse(profileChoiceSchema, req.body);
      return reissue(deps, actor, { userId: pathUserId(req), profile: profileChoice(req, body) });
    }, {
      status: 201,
      // The one time the agent sees the password: to read it out on the phone.
      body: (r) => ({ requestId: r.requestId, workflowId: r.workflowId, enrollmentPassword: r.enrollmentPassword }),
      detail: (r) => ({ profile: r.profile, predecessorRequestId: r.predecessorRequestId, requestId: r.requestId }),
    }),
  );

  api.post(
    '/users/:userId/revoke',
    command('admin', 'revoke', userTarget, (req, actor) => {
      const body = parse(revokeSchema, req.body);
      return revoke(deps, actor, { userId: pathUserId(req), profile: profileChoice(req, body), reason: body.reason });
    }, {
      status: 200,
      body: (r) => r,
      detail: (r) => ({ profile: r.status.profile, requestId: r.requestId, reason: r.status.revocationReason }),
    }),
  );

  api.post(
    '/users/:userId/new-request',
    command('support', 'newRequest', userTarget, (req) => {
      const body = parse(profileChoiceSchema, req.body);
      return startNewRequest(deps, { userId: pathUserId(req), profile: profileChoice(req, body) });
    }, {
      status: 201,
      body: (r) => ({ requestId: r.requestId, workflowId: r.workflowId }),
      detail: (r) => ({ profile: r.profile, predecessorRequestId: r.predecessorRequestId, requestId: r.requestId }),
    }),
  );

  api.post(
    '/users/:userId/unlock',
    command('support', 'unlock', userTarget, (req) => unlockUser(deps, pathUserId(req)), {
      status: 200,
      body: (r) => r,
      detail: () => ({}),
    }),
  );

  api.post(
    '/requests/:requestId/password-reset',
    command('support', 'passwordReset', (req) => `request:${req.params.requestId}`, (req) => resetEnrollmentPassword(deps, pathRequestId(req)), {
      status: 200,
      body: (r) => ({ requestId: r.requestId, enrollmentPassword: r.enrollmentPassword }),
      detail: (r) => ({ userId: r.userId, profile: r.profile }),
    }),
  );

  api.get('/users/:userId', query('support', (req) => getUser(deps, pathUserId(req), profileChoice(req, {}))));
  api.get('/requests/:requestId', query('support', (req) => getRequest(deps, pathRequestId(req))));
  api.get('/certificates', query('admin', (req) => listCertificates(deps, parse(certificateListSchema, req.query, 'query'))));
  api.use(createOperatorRoutes(deps));
  api.get('/mails/failed', query('admin', (req) => listFailedMails(deps, parse(failedMailListSchema, req.query, 'query').limit)));
  api.use(createImportRoutes(deps, { command, query }));

  const router = Router();
  router.use('/api/v1', routePattern('/api/v1'), authenticate(deps.apiTokens), express.json({ limit: '16kb' }), api);
  return router;
}
