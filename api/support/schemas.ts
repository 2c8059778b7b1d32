// What the support API accepts, checked with zod; the first problem becomes a 400 that names its field.
import { z } from 'zod';
import { emailSchema as email, fieldName, profileSchema as profile, userIdSchema } from '../../domain/registration-rules';
import { PROFILES, REQUEST_STATUSES, REVOCATION_REASONS, type RequestStatus } from '../../workflows/definitions';
import { HttpError } from '../errors';

// The registration rules are the domain's (a bulk import checks its lines with them too); re-exported for the API.
export { USER_ID, userIdSchema, registrationSchema } from '../../domain/registration-rules';
export { certificateImportSchema } from '../../domain/import-certificates';
import { certificatePemSchema } from '../../domain/import-certificates';

/**
 * A whole number in a query parameter, in decimal digits only: z.coerce.number would take what Number() takes ('' and
 * ' ' as 0, '0x10', '1e3'); anything else stays a string and is refused. Documented as an integer with its range.
 */
export function queryInteger({ min, max }: { min: number; max?: number }, message = 'must be a whole number') {
  const n = z.number(message).int(message).min(min);
  return z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v), max === undefined ? n : n.max(max));
}

export const REQUEST_ID = /^\d{15}$/;
export const requestIdSchema = z.string().regex(REQUEST_ID, 'must be 15 digits (yyyymmdd + sequence)');

export const profileChoiceSchema = z.object({ profile: profile.optional() });
export const revokeSchema = z.object({ reason: z.enum(REVOCATION_REASONS), profile: profile.optional() });

export const certificateListSchema = z.object({
  status: z.enum(REQUEST_STATUSES as [RequestStatus, ...RequestStatus[]]).optional(),
  profile: z.enum(PROFILES).optional(),
  expiringBefore: z.union([z.iso.datetime({ offset: true }), z.iso.date()], 'must be an ISO-8601 date or date-time').transform((v) => new Date(v)).optional(),
  limit: queryInteger({ min: 1, max: 1000 }).optional(),
});
export const operatorSchema = z.object({
  agentId: userIdSchema,
  role: z.enum(['support', 'admin']),
  email,
});

export const failedMailListSchema = z.object({ limit: queryInteger({ min: 1, max: 1000 }).optional() });

/** Parses or throws HttpError 400 naming the first bad field (`where` is the field for a missing or non-object body). */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where = 'body'): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = fieldName(issue.path) || where;
  throw HttpError.badRequest(`${field}: ${issue.message}`, field);
}

// ── Migration import (migration-routes.ts) ──

export const previousCaSchema = z.object({ profile, certificatePem: certificatePemSchema });
export const fingerprintSchema = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a SHA-256 fingerprint (64 hex digits)');
