// The one error type that carries an HTTP status, and the central handler that turns any error into a reply.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { Refusal, type RefusalCode } from '../domain/refusal';
import type { Logger } from '../infra/logger';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  static badRequest(message: string, field?: string): HttpError {
    return new HttpError(400, 'bad_request', message, field);
  }
  static unauthorized(message = 'a valid bearer token is required'): HttpError {
    return new HttpError(401, 'unauthorized', message);
  }
  static forbidden(message = 'forbidden'): HttpError {
    return new HttpError(403, 'forbidden', message);
  }
  static notFound(message: string): HttpError {
    return new HttpError(404, 'not_found', message);
  }
  static conflict(message: string): HttpError {
    return new HttpError(409, 'conflict', message);
  }
}

/** Express 5 forwards rejected promises itself; this only renders the reply. */
export function errorHandler(logger: Logger, render?: (err: HttpError) => string | undefined): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = toHttpError(err);
    if (httpError.status >= 500) logger.error({ err, path: req.path }, 'request failed');
    else logger.info({ status: httpError.status, code: httpError.code, path: req.path }, httpError.message);
    if (res.headersSent) return;
    const page = req.accepts(['json', 'html']) === 'html' ? render?.(httpError) : undefined;
    res.status(httpError.status).set(retryAfter(httpError));
    if (page !== undefined) res.type('html').send(page);
    else res.json({ error: httpError.code, message: httpError.message, ...(httpError.field ? { field: httpError.field } : {}) });
  };
}

/** Seconds after which a 503 (a dependency down) is worth retrying; a restarted Temporal answers within a few. */
export const RETRY_AFTER_SECONDS = 5;

/** The headers an error's answer carries besides its body: `Retry-After` on a 503. */
export function retryAfter(err: HttpError): Record<string, string> {
  return err.status === 503 ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : {};
}

export const notFoundHandler: RequestHandler = (req, _res, next) =>
  next(HttpError.notFound(`no such resource: ${req.method} ${req.path}`));

/** How the JSON API answers each of the domain's refusals; any code not listed is a 409 conflict. */
const API_STATUS: Partial<Record<RefusalCode, [status: number, code: string]>> = {
  invalid: [400, 'bad_request'],
  forbidden: [403, 'forbidden'],
  notFound: [404, 'not_found'],
  requestUnknown: [404, 'not_found'],
  unavailable: [503, 'workflow_unavailable'],
};

/** The domain's refusal as the API's answer: a status, a code and the domain's reason (English, for agents and logs). */
export function apiError(refusal: Refusal): HttpError {
  const [status, code] = API_STATUS[refusal.code] ?? [409, 'conflict'];
  return new HttpError(status, code, refusal.reason, refusal.detail.field);
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof Refusal) return apiError(err);
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string };
  // body-parser's errors carry a 4xx status and a safe message (malformed JSON, too large, bad charset).
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, e.type?.replace(/\./g, '_') ?? 'bad_request', e.message ?? 'bad request');
  }
  return new HttpError(500, 'internal_error', 'internal error; the incident has been logged');
}
