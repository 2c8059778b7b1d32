// The operators of the console, for admins: add one (its certificate's enrollment starts by mail), disable one (its
// certificate revoked at once), list them, reset an operator's enrollment password. `npm run cli -- operator …` calls these.
import type { Request } from 'express';
import { z } from 'zod';
import { addOperator, disableOperator, listOperators, resetEnrollmentPassword } from '../../domain';
import { component, defineRoute, type SupportRoute } from './contract';
import { passwordResetSchema } from './responses';
import { operatorSchema, requestIdSchema, userIdSchema } from './schemas';

const operatorViewSchema = component(
  'Operator',
  z
    .object({
      agentId: z.string(),
      role: z.enum(['support', 'admin']),
      email: z.string(),
      enabled: z.boolean(),
      createdAt: z.date(),
      createdBy: z.string(),
      disabledAt: z.date().optional(),
      disabledBy: z.string().optional(),
    })
    .describe("an operator of the console; the role is theirs from this row, never from the certificate"),
);
const addedOperatorSchema = operatorViewSchema.extend({
  requestId: z.string().describe("the operator certificate's request; its password and guide mails went to the operator"),
  workflowId: z.string(),
});
const disabledOperatorSchema = operatorViewSchema.extend({
  revokedRequestIds: z.array(z.string()).describe('the requests whose certificates were revoked (privilegeWithdrawn)'),
});

const agentTarget = (req: Request) => `operator:${req.params.agentId ?? (req.body as { agentId?: unknown } | undefined)?.agentId ?? '?'}`;

export const operatorRoutes: SupportRoute[] = [
  defineRoute({
    operationId: 'addOperator',
    method: 'post',
    path: '/operators',
    role: 'admin',
    tag: 'operators',
    summary: "Add an operator and start their certificate's enrollment by mail",
    description: 'The enrollment password and guide mails go to the operator; on a fresh install the first admin is added with the configuration\'s admin token.',
    body: operatorSchema,
    answers: { 201: { description: 'added; the enrollment runs', schema: addedOperatorSchema } },
    refusals: { 409: 'the operator already exists', 503: 'Temporal could not start the workflow; nothing was kept' },
    audit: { action: 'addOperator', target: agentTarget },
    run: async ({ deps, actor, body }) => {
      const { enrollment, ...operator } = await addOperator(deps, actor, body);
      return {
        status: 201,
        body: { ...operator, requestId: enrollment.requestId, workflowId: enrollment.workflowId },
        audit: { role: operator.role, requestId: enrollment.requestId },
      };
    },
  }),

  defineRoute({
    operationId: 'disableOperator',
    method: 'post',
    path: '/operators/:agentId/disable',
    role: 'admin',
    tag: 'operators',
    summary: 'Disable an operator and revoke their certificate at once',
    description: 'The console refuses the operator from this moment; the certificate is on the next CRL with reason privilegeWithdrawn. An admin cannot disable themselves (403).',
    params: z.object({ agentId: userIdSchema }),
    answers: { 200: { description: 'disabled', schema: disabledOperatorSchema } },
    refusals: { 403: 'an operator cannot disable themselves', 404: 'no such operator', 409: 'the operator is already disabled', 503: 'the workflow could not be reached' },
    audit: { action: 'disableOperator', target: agentTarget },
    run: async ({ deps, actor, params }) => {
      const disabled = await disableOperator(deps, actor, params.agentId);
      return { status: 200, body: disabled, audit: { revokedRequestIds: disabled.revokedRequestIds } };
    },
  }),

  // An operator who lost the password mail: a new one, shown once to the admin (the request must await key retrieval).
  defineRoute({
    operationId: 'operatorPasswordReset',
    method: 'post',
    path: '/operators/requests/:requestId/password-reset',
    role: 'admin',
    tag: 'operators',
    summary: "A new enrollment password for an operator's request awaiting key retrieval",
    params: z.object({ requestId: requestIdSchema }),
    answers: { 200: { description: 'the new password, shown this once', schema: passwordResetSchema } },
    refusals: { 404: 'no such request', 409: 'the request is not awaiting key retrieval' },
    audit: { action: 'operatorPasswordReset', target: (req) => `request:${req.params.requestId}` },
    run: async ({ deps, params }) => {
      const r = await resetEnrollmentPassword(deps, params.requestId, { operators: true });
      return { status: 200, body: { requestId: r.requestId, enrollmentPassword: r.enrollmentPassword }, audit: { userId: r.userId, profile: r.profile } };
    },
  }),

  defineRoute({
    operationId: 'listOperators',
    method: 'get',
    path: '/operators',
    role: 'admin',
    tag: 'operators',
    summary: 'The operators, enabled and disabled',
    answers: { 200: { description: 'the operators', schema: z.array(operatorViewSchema) } },
    run: async ({ deps }) => ({ status: 200, body: await listOperators(deps) }),
  }),
];
