// Imports over the support API (admin): upload a CSV file, validated line by line first, and follow its progress.
import crypto from 'node:crypto';
import express, { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { getImport, MAX_IMPORT_BYTES, submitImport, type Actor, type DomainDeps, type ImportSubmission } from '../../domain';
import { IMPORT_KINDS, importId as importIdOf, type ImportKind } from '../../workflows/import-definitions';
import { HttpError } from '../errors';
import { parse } from './schemas';

type Role = Actor['role'];

/** The support router's own route builders (role check, audit row), lent to these routes. */
export interface RouteKit {
  command<T>(
    role: Role,
    action: string,
    target: (req: Request) => string,
    run: (req: Request, actor: Actor) => Promise<T>,
    reply: { status: number | ((result: T) => number); body: (result: T) => unknown; detail: (result: T) => Record<string, unknown> },
  ): RequestHandler;
  query<T>(role: Role, run: (req: Request) => Promise<T>): RequestHandler;
}

/** The file types accepted as the raw body: what Excel's "CSV" and a plain upload send. */
export const IMPORT_CONTENT_TYPES = ['text/csv', 'application/octet-stream'];

const kindSchema = z.enum(IMPORT_KINDS);
const submitQuerySchema = z.object({ registerValidLines: z.enum(['true', 'false'], 'must be true or false').optional() });
const importIdSchema = z.string().regex(/^[a-z]+-[0-9a-f]{64}$/, 'must be <kind>-<64 hex digits>');

const bodyOf = (req: Request): Buffer | undefined => (Buffer.isBuffer(req.body) ? req.body : undefined);

function kindOf(req: Request): ImportKind {
  return parse(kindSchema, req.params.kind, 'kind');
}

export function createImportRoutes(deps: DomainDeps, { command, query }: RouteKit): Router {
  const routes = Router();

  routes.post(
    '/imports/:kind',
    express.raw({ type: IMPORT_CONTENT_TYPES, limit: MAX_IMPORT_BYTES }),
    command(
      'admin',
      'importFile',
      (req) => {
        const body = bodyOf(req);
        const kind = String(req.params.kind);
        return body && (IMPORT_KINDS as readonly string[]).includes(kind)
          ? `import:${importIdOf(kind as ImportKind, crypto.createHash('sha256').update(body).digest('hex'))}`
          : `import:${kind}`;
      },
      (req, actor) => {
        const kind = kindOf(req);
        const file = bodyOf(req);
        if (!file) throw new HttpError(415, 'unsupported_media_type', `send the file as the raw body with content-type ${IMPORT_CONTENT_TYPES.join(' or ')}`);
        const { registerValidLines } = parse(submitQuerySchema, req.query, 'query');
        return submitImport(deps, actor, { kind, file, registerValidLines: registerValidLines === 'true' });
      },
      {
        // 200: the report only, nothing imported; 202: the import runs (or ran: the same file again).
        status: (r: ImportSubmission) => (r.started ? 202 : 200),
        body: (r) => r,
        detail: (r) => ({
          started: r.started,
          ...(r.started ? { existing: r.existing } : {}),
          total: r.report.total,
          valid: r.report.valid,
          refused: r.report.refused,
        }),
      },
    ),
  );

  routes.get('/imports/:importId', query('admin', (req) => getImport(deps, parse(importIdSchema, req.params.importId, 'importId'))));
  return routes;
}
