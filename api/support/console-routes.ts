// The support console's JSON routes: find, lists, audit trail, a user's timeline, diagnose a certificate, resend a mail.
import { z } from 'zod';
import {
  diagnoseCertificate,
  listAuditTrail,
  listAwaitingRetrieval,
  listExpiringCertificates,
  resendFailedMail,
  searchRequests,
  userTimeline,
} from '../../domain';
import { HttpError } from '../errors';
import { binaryBody, defineRoute, type SupportRoute } from './contract';
import { auditQuerySchema, daysQuerySchema, diagnoseJsonSchema, mailKeySchema, searchQuerySchema } from './console-schemas';
import { auditEntrySchema, diagnosisSchema, profileTimelineSchema, resentMailSchema, supportRowsSchema } from './responses';
import { userIdSchema } from './schemas';

const pemText = z.string().describe('a PEM certificate (`-----BEGIN CERTIFICATE-----`)');
const PAGED = 'Paged: `limit` (default 50, at most 500) and `offset`.';

// Before certificate-routes.ts in SUPPORT_ROUTES: its /requests/:requestId would take /requests/awaiting-retrieval.
export const consoleRoutes: SupportRoute[] = [
  defineRoute({
    operationId: 'searchRequests',
    method: 'get',
    path: '/search',
    role: 'support',
    tag: 'lists',
    summary: 'Find requests with their user, newest first',
    description: `\`field\`: \`userId\`, \`requestId\`, \`serial\` (exact; colons and case ignored), \`email\` (by its start), \`organization\` (anywhere); absent, all of them. \`%\` and \`_\` are literal. ${PAGED}`,
    query: searchQuerySchema,
    answers: { 200: { description: 'the matching requests', schema: supportRowsSchema } },
    run: async ({ deps, query }) => ({ status: 200, body: await searchRequests(deps, query) }),
  }),

  defineRoute({
    operationId: 'listExpiringCertificates',
    method: 'get',
    path: '/certificates/expiring',
    role: 'support',
    tag: 'lists',
    summary: 'Certificates in use (active, or renewed and still serving) whose notAfter is within `days`, soonest first',
    description: PAGED,
    query: daysQuerySchema,
    answers: { 200: { description: 'the expiring certificates', schema: supportRowsSchema } },
    run: async ({ deps, query }) => ({ status: 200, body: await listExpiringCertificates(deps, query) }),
  }),

  defineRoute({
    operationId: 'listAwaitingRetrieval',
    method: 'get',
    path: '/requests/awaiting-retrieval',
    role: 'support',
    tag: 'lists',
    summary: 'Requests whose key has not been retrieved (or downloaded) for more than `days` since they were made, oldest first',
    description: PAGED,
    query: daysQuerySchema,
    answers: { 200: { description: 'the waiting requests', schema: supportRowsSchema } },
    run: async ({ deps, query }) => ({ status: 200, body: await listAwaitingRetrieval(deps, query) }),
  }),

  defineRoute({
    operationId: 'listAuditTrail',
    method: 'get',
    path: '/audit',
    role: 'admin',
    tag: 'lists',
    summary: 'The audit trail, newest first',
    description: `\`target\` exact, or by its start with \`targetPrefix=true\`; \`from\` inclusive, \`to\` exclusive (ISO dates or date-times). ${PAGED}`,
    query: auditQuerySchema,
    answers: { 200: { description: 'the audit entries', schema: z.array(auditEntrySchema) } },
    run: async ({ deps, query }) => ({ status: 200, body: await listAuditTrail(deps, query) }),
  }),

  defineRoute({
    operationId: 'userTimeline',
    method: 'get',
    path: '/users/:userId/timeline',
    role: 'support',
    tag: 'users',
    summary: "Per profile: the user, the request chain with each request's mails, the audit entries and the portal's verdict now",
    params: z.object({ userId: userIdSchema }),
    answers: { 200: { description: 'one timeline per profile the user holds', schema: z.array(profileTimelineSchema) } },
    refusals: { 404: 'no such user' },
    run: async ({ deps, params }) => ({ status: 200, body: await userTimeline(deps, params.userId) }),
  }),

  defineRoute({
    operationId: 'diagnoseCertificate',
    method: 'post',
    path: '/diagnose',
    role: 'support',
    tag: 'certificates',
    summary: "Whose a certificate is, its request and state, and why a portal refuses it (or that it admits it)",
    description:
      'The certificate as PEM text, DER bytes or JSON `{ certificate: "<PEM>" }`, at most 64 KiB. Anything that is not a certificate, ' +
      'or a body of another media type, is a 400 naming `certificate`.',
    bodies: {
      'application/json': diagnoseJsonSchema,
      'text/plain': pemText,
      'application/x-pem-file': pemText,
      'application/pkix-cert': binaryBody,
      'application/x-x509-ca-cert': binaryBody,
      'application/x-x509-user-cert': binaryBody,
      'application/pkcs7-mime': binaryBody,
      'application/octet-stream': binaryBody,
    },
    bodyLimit: '64kb',
    answers: { 200: { description: 'the diagnosis', schema: diagnosisSchema } },
    run: async ({ deps, body }) => {
      if (body === undefined) {
        throw HttpError.badRequest('send the certificate as PEM text (text/plain, application/x-pem-file), DER (application/pkix-cert, application/octet-stream) or JSON { certificate }', 'certificate');
      }
      const certificate = typeof body === 'string' || Buffer.isBuffer(body) ? body : body.certificate;
      return { status: 200, body: await diagnoseCertificate(deps, certificate) };
    },
  }),

  defineRoute({
    operationId: 'resendMail',
    method: 'post',
    path: '/mails/:key/resend',
    role: 'support',
    tag: 'mails',
    summary: 'Send a mail refused for good once more, as its own outbox row `<key>:resend`',
    description: 'The refused mail stays on record; a retried or concurrent call lands on the same resend row, which is sent at most once.',
    params: z.object({ key: mailKeySchema }),
    answers: { 200: { description: "the resend's outcome (`failed`: the relay refused it too, with the reason)", schema: resentMailSchema } },
    refusals: {
      404: 'no such mail',
      409: 'the mail is not failed, was resent already, or carried an enrollment password (destroyed once settled: reset the password instead)',
      503: 'the mail server did not answer; try again (the same resend row)',
    },
    audit: { action: 'resendMail', target: (req) => `mail:${req.params.key}` },
    run: async ({ deps, actor, params }) => {
      const r = await resendFailedMail(deps, actor, params.key);
      return { status: 200, body: r, audit: { resendKey: r.resendKey, kind: r.kind, status: r.status, ...(r.reason ? { reason: r.reason } : {}) } };
    },
  }),
];
