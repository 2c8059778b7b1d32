// The support console's JSON routes: find, lists, audit trail, a user's timeline, diagnose a certificate, resend a mail.
import express, { Router, type Request, type RequestHandler } from 'express';
import {
  diagnoseCertificate,
  listAuditTrail,
  listAwaitingRetrieval,
  listExpiringCertificates,
  resendFailedMail,
  searchRequests,
  userTimeline,
  type Actor,
  type DomainDeps,
} from '../../domain';
import { HttpError } from '../errors';
import { auditQuerySchema, daysQuerySchema, diagnoseJsonSchema, mailKeySchema, searchQuerySchema } from './console-schemas';
import { parse, userIdSchema } from './schemas';

type Role = Actor['role'];

/** The support router's own route builders, so these routes check roles and audit exactly as its others do. */
export interface RouteKit {
  command<T>(
    role: Role,
    action: string,
    target: (req: Request) => string,
    run: (req: Request, actor: Actor) => Promise<T>,
    reply: { status: number; body: (result: T) => unknown; detail: (result: T) => Record<string, unknown> },
  ): RequestHandler;
  query<T>(role: Role, run: (req: Request) => Promise<T>): RequestHandler;
}

/** PEM text or DER bytes, by their usual media types; JSON `{ certificate: "<PEM>" }` comes through express.json. */
const CERTIFICATE_TYPES = ['application/pkix-cert', 'application/x-x509-ca-cert', 'application/x-x509-user-cert', 'application/pkcs7-mime', 'application/x-pem-file', 'application/octet-stream', 'text/plain'];

function certificateOf(req: Request): string | Buffer {
  if (Buffer.isBuffer(req.body)) return req.body;
  if (req.is('application/json')) return parse(diagnoseJsonSchema, req.body).certificate;
  throw HttpError.badRequest(`send the certificate as PEM text or DER (${CERTIFICATE_TYPES.slice(0, 2).join(', ')}, text/plain) or JSON { certificate }`, 'certificate');
}

export function createConsoleRoutes(deps: DomainDeps, { command, query }: RouteKit): Router {
  const api = Router();

  api.get('/search', query('support', (req) => searchRequests(deps, parse(searchQuerySchema, req.query, 'query'))));
  api.get('/certificates/expiring', query('support', (req) => listExpiringCertificates(deps, parse(daysQuerySchema, req.query, 'query'))));
  api.get('/requests/awaiting-retrieval', query('support', (req) => listAwaitingRetrieval(deps, parse(daysQuerySchema, req.query, 'query'))));
  api.get('/audit', query('admin', (req) => listAuditTrail(deps, parse(auditQuerySchema, req.query, 'query'))));
  api.get('/users/:userId/timeline', query('support', (req) => userTimeline(deps, parse(userIdSchema, req.params.userId, 'userId'))));
  api.post(
    '/diagnose',
    express.raw({ type: CERTIFICATE_TYPES, limit: '64kb' }),
    query('support', (req) => diagnoseCertificate(deps, certificateOf(req))),
  );
  api.post(
    '/mails/:key/resend',
    command('support', 'resendMail', (req) => `mail:${req.params.key}`, (req, actor) => resendFailedMail(deps, actor, parse(mailKeySchema, req.params.key, 'key')), {
      status: 200,
      body: (r) => r,
      detail: (r) => ({ resendKey: r.resendKey, kind: r.kind, status: r.status, ...(r.reason ? { reason: r.reason } : {}) }),
    }),
  );
  return api;
}
