// What the support API accepts, checked with zod; the first problem becomes a 400 that names its field.
import { z } from 'zod';
import { PROFILES, REQUEST_STATUSES, REVOCATION_REASONS, USER_PROFILES, type RequestStatus } from '../../workflows/definitions';
import { EMAIL_ADDRESS, MAX_EMAIL_LENGTH, SUBJECT_NAME } from '../../engines/pki';
import { HttpError } from '../errors';

// The PKI engine's own rules for what goes into a certificate, so the document states exactly what registration takes.
const dnValue = z.string().min(1, 'must not be empty').regex(SUBJECT_NAME, 'must be at most 64 characters, without control characters or a space at either end');
const email = z.string().max(MAX_EMAIL_LENGTH).regex(EMAIL_ADDRESS, 'must be an ASCII e-mail address');

/**
 * A whole number in a query parameter, in decimal digits only: z.coerce.number would take what Number() takes ('' and
 * ' ' as 0, '0x10', '1e3'); anything else stays a string and is refused. Documented as an integer with its range.
 */
export function queryInteger({ min, max }: { min: number; max?: number }, message = 'must be a whole number') {
  const n = z.number(message).int(message).min(min);
  return z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v), max === undefined ? n : n.max(max));
}

export const USER_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const REQUEST_ID = /^\d{15}$/;

export const userIdSchema = z.string().regex(USER_ID, 'must be 1 to 64 letters, digits, dots, underscores or hyphens');
export const requestIdSchema = z.string().regex(REQUEST_ID, 'must be 15 digits (yyyymmdd + sequence)');
/** What the users' routes name: an operator's certificate is managed only through /operators. */
const profile = z.enum(USER_PROFILES);

export const registrationSchema = z.object({
  userId: userIdSchema,
  profile,
  email,
  idAdminEmail: email,
  organization: dnValue,
  organizationalUnits: z.array(dnValue).min(1, 'must list at least one unit').max(10, 'must list at most 10 units'),
  subscriberId: dnValue,
});

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
