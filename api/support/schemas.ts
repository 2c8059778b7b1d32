// What the support API accepts, checked with zod; the first problem becomes a 400 that names its field.
import { z } from 'zod';
import { PROFILES, REQUEST_STATUSES, REVOCATION_REASONS, type RequestStatus } from '../../workflows/definitions';
import { HttpError } from '../errors';

// Control and format characters would make a DN display something other than what it holds.
const DN_VALUE = /^[^\p{Cc}\p{Cf}\p{Cs}]+$/u;
const dnValue = z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters').regex(DN_VALUE, 'must not contain control characters');

export const USER_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const REQUEST_ID = /^\d{15}$/;

export const userIdSchema = z.string().regex(USER_ID, 'must be 1 to 64 letters, digits, dots, underscores or hyphens');
export const requestIdSchema = z.string().regex(REQUEST_ID, 'must be 15 digits (yyyymmdd + sequence)');
const profile = z.enum(PROFILES);

export const registrationSchema = z.object({
  userId: userIdSchema,
  profile,
  email: z.email('must be an e-mail address').max(254),
  idAdminEmail: z.email('must be an e-mail address').max(254),
  organization: dnValue,
  organizationalUnits: z.array(dnValue).min(1, 'must list at least one unit').max(10, 'must list at most 10 units'),
  subscriberId: dnValue,
});

export const profileChoiceSchema = z.object({ profile: profile.optional() });
export const revokeSchema = z.object({ reason: z.enum(REVOCATION_REASONS), profile: profile.optional() });

export const certificateListSchema = z.object({
  status: z.enum(REQUEST_STATUSES as [RequestStatus, ...RequestStatus[]]).optional(),
  profile: profile.optional(),
  expiringBefore: z.union([z.iso.datetime({ offset: true }), z.iso.date()], 'must be an ISO-8601 date or date-time').transform((v) => new Date(v)).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
export const failedMailListSchema = z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() });

function fieldName(path: PropertyKey[]): string {
  return path.reduce<string>((name, part) => (typeof part === 'number' ? `${name}[${part}]` : name ? `${name}.${String(part)}` : String(part)), '');
}

/** Parses or throws HttpError 400 naming the first bad field (`where` is the field for a missing or non-object body). */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where = 'body'): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = fieldName(issue.path) || where;
  throw HttpError.badRequest(`${field}: ${issue.message}`, field);
}

// ── Migration import (migration-routes.ts) ──

const PEM_CERTIFICATE = /^\s*-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*$/;
const certificatePem = z.string().max(12_000, 'must be at most 12,000 characters').regex(PEM_CERTIFICATE, 'must be one PEM certificate (-----BEGIN CERTIFICATE-----)');

export const previousCaSchema = z.object({ profile, certificatePem });
export const fingerprintSchema = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a SHA-256 fingerprint (64 hex digits)');
export const certificateImportSchema = registrationSchema.extend({ certificatePem });
