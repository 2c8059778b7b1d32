// The support API's user and request routes: thin declarations over the use cases (registration, reissue, revoke,
// new request, unlock, password reset, look-ups and lists).
import type { Request } from 'express';
import { z } from 'zod';
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
} from '../../domain';
import { HttpError } from '../errors';
import { defineRoute, type SupportRoute } from './contract';
import {
  failedMailSchema,
  passwordResetSchema,
  registeredSchema,
  reissuedSchema,
  requestViewSchema,
  requestWithLiveSchema,
  revokedSchema,
  startedSchema,
  unlockedSchema,
  userViewSchema,
} from './responses';
import {
  certificateListSchema,
  failedMailListSchema,
  profileChoiceSchema,
  registrationSchema,
  requestIdSchema,
  revokeSchema,
  userIdSchema,
} from './schemas';

const userPath = z.object({ userId: userIdSchema });
const requestPath = z.object({ requestId: requestIdSchema });

/** `?profile=` or body.profile; both given and different is a contradiction. */
function profileChoice(query: { profile?: string }, body: { profile?: string }): string | undefined {
  if (query.profile && body.profile && query.profile !== body.profile) throw HttpError.badRequest('profile: query and body name different profiles', 'profile');
  return query.profile ?? body.profile;
}

const userTarget = (req: Request) => `user:${req.params.userId ?? (req.body as { userId?: unknown } | undefined)?.userId ?? '?'}`;
const requestTarget = (req: Request) => `request:${req.params.requestId}`;

const PROFILE_CHOICE = 'The profile is `?profile=` or `body.profile`, required only when the user holds both profiles.';

export const certificateRoutes: SupportRoute[] = [
  defineRoute({
    operationId: 'registerUser',
    method: 'post',
    path: '/users',
    role: 'admin',
    tag: 'users',
    summary: 'Register a user for a profile and start the certificate workflow',
    description: 'The three guide mails go out; the enrollment password reaches the user only by its mail.',
    body: registrationSchema,
    answers: { 201: { description: 'registered; the workflow runs', schema: registeredSchema } },
    refusals: { 409: 'the user is already registered for the profile', 503: 'Temporal could not start the workflow; nothing was kept' },
    audit: { action: 'registerUser', target: userTarget },
    run: async ({ deps, body, resumed }) => {
      const r = await registerUser(deps, body, { resume: resumed });
      return { status: 201, body: r, audit: { profile: r.profile, requestId: r.requestId } };
    },
  }),

  defineRoute({
    operationId: 'reissue',
    method: 'post',
    path: '/users/:userId/reissue',
    role: 'support',
    tag: 'users',
    summary: "Revoke the user's certificate now and start a successor request",
    description: `The new enrollment password is in the answer, once, to read out by phone. ${PROFILE_CHOICE}`,
    params: userPath,
    query: profileChoiceSchema,
    body: profileChoiceSchema,
    answers: { 201: { description: 'the successor request', schema: reissuedSchema } },
    refusals: { 404: 'no such user (for the profile)', 409: "the current request's state does not allow a reissue (the workflow's reason)", 503: 'the workflow could not be reached' },
    audit: { action: 'reissue', target: userTarget },
    run: async ({ deps, actor, params, query, body, resumed }) => {
      const r = await reissue(deps, actor, { userId: params.userId, profile: profileChoice(query, body) }, { resume: resumed });
      return {
        status: 201,
        // The one time the agent sees the password: to read it out on the phone.
        body: { requestId: r.requestId, workflowId: r.workflowId, enrollmentPassword: r.enrollmentPassword },
        audit: { profile: r.profile, predecessorRequestId: r.predecessorRequestId, requestId: r.requestId },
      };
    },
  }),

  defineRoute({
    operationId: 'revoke',
    method: 'post',
    path: '/users/:userId/revoke',
    role: 'admin',
    tag: 'users',
    summary: "Revoke the user's current certificate with an RFC 5280 reason",
    description: `The certificate is in the next CRL. ${PROFILE_CHOICE}`,
    params: userPath,
    query: profileChoiceSchema,
    body: revokeSchema,
    answers: { 200: { description: "revoked: the workflow's status", schema: revokedSchema } },
    refusals: { 404: 'no such user (for the profile)', 409: "the current request's state does not allow a revocation (the workflow's reason)", 503: 'the workflow could not be reached' },
    audit: { action: 'revoke', target: userTarget },
    run: async ({ deps, actor, params, query, body }) => {
      const r = await revoke(deps, actor, { userId: params.userId, profile: profileChoice(query, body), reason: body.reason });
      return { status: 200, body: r, audit: { profile: r.status.profile, requestId: r.requestId, reason: r.status.revocationReason } };
    },
  }),

  defineRoute({
    operationId: 'newRequest',
    method: 'post',
    path: '/users/:userId/new-request',
    role: 'support',
    tag: 'users',
    summary: 'Start a fresh request after the request expired or the certificate expired or was revoked',
    description: `Its enrollment password is mailed. ${PROFILE_CHOICE}`,
    params: userPath,
    query: profileChoiceSchema,
    body: profileChoiceSchema,
    answers: { 201: { description: 'the new request', schema: startedSchema } },
    refusals: { 404: 'no such user (for the profile)', 409: 'the current request has not ended, or another call changed the user', 503: 'Temporal could not start the workflow; nothing was kept' },
    audit: { action: 'newRequest', target: userTarget },
    run: async ({ deps, params, query, body }) => {
      const r = await startNewRequest(deps, { userId: params.userId, profile: profileChoice(query, body) });
      return {
        status: 201,
        body: { requestId: r.requestId, workflowId: r.workflowId },
        audit: { profile: r.profile, predecessorRequestId: r.predecessorRequestId, requestId: r.requestId },
      };
    },
  }),

  defineRoute({
    operationId: 'unlock',
    method: 'post',
    path: '/users/:userId/unlock',
    role: 'support',
    tag: 'users',
    summary: "Clear the user's failed logins and login lock (every profile)",
    params: userPath,
    answers: { 200: { description: 'unlocked', schema: unlockedSchema } },
    refusals: { 404: 'no such user' },
    audit: { action: 'unlock', target: userTarget },
    run: async ({ deps, params }) => ({ status: 200, body: await unlockUser(deps, params.userId), audit: {} }),
  }),

  defineRoute({
    operationId: 'passwordReset',
    method: 'post',
    path: '/requests/:requestId/password-reset',
    role: 'support',
    tag: 'requests',
    summary: 'A new enrollment password for a request awaiting key retrieval; also unlocks the user',
    params: requestPath,
    answers: { 200: { description: 'the new password, shown this once', schema: passwordResetSchema } },
    refusals: { 404: 'no such request', 409: 'the request is not awaiting key retrieval' },
    audit: { action: 'passwordReset', target: requestTarget },
    run: async ({ deps, params }) => {
      const r = await resetEnrollmentPassword(deps, params.requestId);
      return { status: 200, body: { requestId: r.requestId, enrollmentPassword: r.enrollmentPassword }, audit: { userId: r.userId, profile: r.profile } };
    },
  }),

  defineRoute({
    operationId: 'getUser',
    method: 'get',
    path: '/users/:userId',
    role: 'support',
    tag: 'users',
    summary: "The user's rows (one per profile held) with their requests",
    params: userPath,
    query: profileChoiceSchema,
    answers: { 200: { description: "the user's rows", schema: z.array(userViewSchema) } },
    refusals: { 404: 'no such user (for the profile)' },
    run: async ({ deps, params, query }) => ({ status: 200, body: await getUser(deps, params.userId, query.profile) }),
  }),

  defineRoute({
    operationId: 'getRequest',
    method: 'get',
    path: '/requests/:requestId',
    role: 'support',
    tag: 'requests',
    summary: "A request from the projection, with the workflow's live status while it runs",
    params: requestPath,
    answers: { 200: { description: 'the request', schema: requestWithLiveSchema } },
    refusals: { 404: 'no such request' },
    run: async ({ deps, params }) => ({ status: 200, body: await getRequest(deps, params.requestId) }),
  }),

  defineRoute({
    operationId: 'listCertificates',
    method: 'get',
    path: '/certificates',
    role: 'admin',
    tag: 'lists',
    summary: 'Requests by status, profile and expiry, from the projection only',
    query: certificateListSchema,
    answers: { 200: { description: 'the matching requests', schema: z.array(requestViewSchema) } },
    run: async ({ deps, query }) => ({ status: 200, body: await listCertificates(deps, query) }),
  }),

  defineRoute({
    operationId: 'listFailedMails',
    method: 'get',
    path: '/mails/failed',
    role: 'admin',
    tag: 'lists',
    summary: 'Mails the relay refused for good, newest first',
    query: failedMailListSchema,
    answers: { 200: { description: 'the failed mails', schema: z.array(failedMailSchema) } },
    run: async ({ deps, query }) => ({ status: 200, body: await listFailedMails(deps, query.limit) }),
  }),
];
