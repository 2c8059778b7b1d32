// What the support console's JSON routes accept (finds, lists, audit, resend), checked with zod like schemas.ts.
import { z } from 'zod';
import { SEARCH_FIELDS } from '../../stores';
import { PROFILES, REQUEST_STATUSES, type RequestStatus } from '../../workflows/definitions';
import { queryInteger } from './schemas';

const profile = z.enum(PROFILES);
const page = {
  limit: queryInteger({ min: 1, max: 500 }).optional(),
  offset: queryInteger({ min: 0 }).optional(),
};
const instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()], 'must be an ISO-8601 date or date-time').transform((v) => new Date(v));

export const searchQuerySchema = z.object({
  text: z.string().trim().min(1, 'must not be empty').max(254),
  field: z.enum(SEARCH_FIELDS).optional(),
  status: z.enum(REQUEST_STATUSES as [RequestStatus, ...RequestStatus[]]).optional(),
  profile: profile.optional(),
  ...page,
});

export const daysQuerySchema = z.object({
  days: queryInteger({ min: 0, max: 3650 }, 'must be a number of days'),
  profile: profile.optional(),
  ...page,
});

export const auditQuerySchema = z.object({
  agent: z.string().min(1).max(128).optional(),
  action: z.string().min(1).max(64).optional(),
  target: z.string().min(1).max(128).optional(),
  /** `true`: the target matches by its start. */
  targetPrefix: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  from: instant.optional(),
  to: instant.optional(),
  ...page,
});

/** An outbox key: `${workflowId}:${event}`, at most 200 characters. */
export const mailKeySchema = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const diagnoseJsonSchema = z.object({ certificate: z.string().min(1, 'must not be empty') });
