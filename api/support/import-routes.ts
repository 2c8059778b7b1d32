// Imports over the support API (admin): upload a CSV file, validated line by line first, and follow its progress.
import crypto from 'node:crypto';
import type { Request } from 'express';
import { z } from 'zod';
import { getImport, MAX_IMPORT_BYTES, submitImport } from '../../domain';
import { IMPORT_KINDS, importId as importIdOf, type ImportKind } from '../../workflows/import-definitions';
import { HttpError } from '../errors';
import { binaryBody, defineRoute, type SupportRoute } from './contract';
import { importReportOnlySchema, importStartedSchema, importViewSchema } from './responses';

/** The file types accepted as the raw body: what Excel's "CSV" and a plain upload send. */
export const IMPORT_CONTENT_TYPES = ['text/csv', 'application/octet-stream'] as const;

const submitQuerySchema = z.object({ registerValidLines: z.enum(['true', 'false'], 'must be true or false').optional() });
const importIdSchema = z.string().regex(/^[a-z]+-[0-9a-f]{64}$/, 'must be <kind>-<64 hex digits>');

/** The import the file would be (`import:<kind>-<sha256>`), or the kind as asked when there is no file or no such kind. */
function importTarget(req: Request): string {
  const kind = String(req.params.kind);
  return Buffer.isBuffer(req.body) && (IMPORT_KINDS as readonly string[]).includes(kind)
    ? `import:${importIdOf(kind as ImportKind, crypto.createHash('sha256').update(req.body).digest('hex'))}`
    : `import:${kind}`;
}

export const importRoutes: SupportRoute[] = [
  defineRoute({
    operationId: 'importFile',
    method: 'post',
    path: '/imports/:kind',
    role: 'admin',
    tag: 'imports',
    summary: 'Import a CSV file: every line validated first, then imported by an import workflow',
    description:
      '`users`: bulk registration (userId, profile, email, idAdminEmail, organization, organizationalUnits separated by `;` most specific first, subscriberId); ' +
      '`certificates`: migration import (the same columns and `certificatePem`, a certificate of a previous CA of the profile). ' +
      `The file as the raw body, UTF-8 with or without BOM or Shift_JIS, at most ${MAX_IMPORT_BYTES / 1024 / 1024} MB. ` +
      'A file with a refused line imports nothing (200, the report) unless `registerValidLines=true`; the same file again (same SHA-256) is the same import: its progress, nobody imported twice.',
    params: z.object({ kind: z.enum(IMPORT_KINDS) }),
    query: submitQuerySchema,
    bodies: Object.fromEntries(IMPORT_CONTENT_TYPES.map((type) => [type, binaryBody])),
    bodyLimit: String(MAX_IMPORT_BYTES),
    answers: {
      200: { description: 'the validation report: a line was refused (or none is valid), nothing imported', schema: importReportOnlySchema },
      202: { description: 'the import runs (or ran: the same file before), with its progress', schema: importStartedSchema },
    },
    refusals: {
      400: 'the file is not CSV, lacks a column of the header, or has no line (`field`: file, header or kind)',
      415: `the body is not ${IMPORT_CONTENT_TYPES.join(' or ')}`,
      503: 'Temporal could not start the import workflow; run the same file again',
    },
    audit: { action: 'importFile', target: importTarget },
    run: async ({ deps, actor, params, query, body }) => {
      if (!Buffer.isBuffer(body)) throw new HttpError(415, 'unsupported_media_type', `send the file as the raw body with content-type ${IMPORT_CONTENT_TYPES.join(' or ')}`);
      const r = await submitImport(deps, actor, { kind: params.kind, file: body, registerValidLines: query.registerValidLines === 'true' });
      const { total, valid, refused } = r.report;
      if (!r.started) return { status: 200, body: r, audit: { started: false, total, valid, refused } };
      return { status: 202, body: r, audit: { started: true, existing: r.existing, total, valid, refused } };
    },
  }),

  defineRoute({
    operationId: 'getImport',
    method: 'get',
    path: '/imports/:importId',
    role: 'admin',
    tag: 'imports',
    summary: "An import's progress and the lines it did not import, from the database (a reload or a worker restart loses nothing)",
    params: z.object({ importId: importIdSchema }),
    answers: { 200: { description: 'the import', schema: importViewSchema } },
    refusals: { 404: 'no such import' },
    run: async ({ deps, params }) => ({ status: 200, body: await getImport(deps, params.importId) }),
  }),
];
