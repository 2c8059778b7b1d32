// The support console's finds and lists: requests by ID, serial, mail or organisation; expiring and waiting lists; the audit trail.
import type { Page, RecordedAuditEvent, SearchField, SupportRow } from '../stores';
import { SEARCH_FIELDS } from '../stores';
import { PROFILES, REQUEST_STATUSES, STATE_RULES, statesWhere, type Profile, type RequestStatus } from '../workflows/definitions';
import { businessNow, type DomainDeps } from './deps';
import { Refusal } from './refusal';
import { isProfile } from './request-chain';

export type { SupportRow, SearchField };

const DAY_MS = 86_400_000;
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface PageInput {
  limit?: number;
  offset?: number;
}

function pageOf(input: PageInput): Page {
  const limit = input.limit ?? DEFAULT_PAGE_SIZE;
  const offset = input.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw Refusal.invalid(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`, 'limit');
  if (!Number.isInteger(offset) || offset < 0) throw Refusal.invalid('offset must be a non-negative integer', 'offset');
  return { limit, offset };
}

function profileOf(profile: string | undefined): Profile | undefined {
  if (profile !== undefined && !isProfile(profile)) throw Refusal.invalid(`profile must be one of ${PROFILES.join(', ')}`, 'profile');
  return profile;
}

function daysOf(days: number): number {
  if (!Number.isInteger(days) || days < 0 || days > 3650) throw Refusal.invalid('days must be an integer from 0 to 3650', 'days');
  return days;
}

export interface SearchInput extends PageInput {
  text: string;
  /** Absent: every field. */
  field?: SearchField;
  status?: RequestStatus;
  profile?: string;
}

/** Requests with their user, newest first: IDs and serials exactly, the mail address by its start, the organisation anywhere. */
export async function searchRequests(deps: Pick<DomainDeps, 'stores'>, input: SearchInput): Promise<SupportRow[]> {
  const text = typeof input.text === 'string' ? input.text.trim() : '';
  if (text.length === 0 || text.length > 254) throw Refusal.invalid('text must be 1 to 254 characters', 'text');
  if (input.field !== undefined && !SEARCH_FIELDS.includes(input.field)) throw Refusal.invalid(`field must be one of ${SEARCH_FIELDS.join(', ')}`, 'field');
  if (input.status !== undefined && !REQUEST_STATUSES.includes(input.status)) throw Refusal.invalid(`status must be one of ${REQUEST_STATUSES.join(', ')}`, 'status');
  return deps.stores.search.searchRequests({ ...pageOf(input), text, field: input.field, status: input.status, profile: profileOf(input.profile) });
}

/** Certificates still serving (active, or renewed and running to its end) whose notAfter falls within `days` from now, soonest first. */
export async function listExpiringCertificates(deps: Pick<DomainDeps, 'stores' | 'clock'>, input: PageInput & { days: number; profile?: string }): Promise<SupportRow[]> {
  const now = await businessNow(deps);
  const statuses = statesWhere('delivered').filter((s) => STATE_RULES[s].open);
  return deps.stores.search.expiring({ ...pageOf(input), statuses, notAfterBy: new Date(now.getTime() + daysOf(input.days) * DAY_MS), profile: profileOf(input.profile) });
}

/** Requests whose key has not been retrieved for more than `days` since they were made, oldest first. */
export async function listAwaitingRetrieval(deps: Pick<DomainDeps, 'stores' | 'clock'>, input: PageInput & { days: number; profile?: string }): Promise<SupportRow[]> {
  const now = await businessNow(deps);
  return deps.stores.search.waitingSince({
    ...pageOf(input),
    statuses: statesWhere('awaitingDownload'),
    createdBy: new Date(now.getTime() - daysOf(input.days) * DAY_MS),
    profile: profileOf(input.profile),
  });
}

export interface AuditTrailInput extends PageInput {
  agent?: string;
  action?: string;
  target?: string;
  /** Match `target` by its start (e.g. `user:emp002` finds `user:emp002/nissay` too). */
  targetPrefix?: boolean;
  from?: Date;
  to?: Date;
}

/** The audit trail, newest first. */
export async function listAuditTrail(deps: Pick<DomainDeps, 'stores'>, input: AuditTrailInput): Promise<RecordedAuditEvent[]> {
  for (const field of ['from', 'to'] as const) {
    const at = input[field];
    if (at !== undefined && !(at instanceof Date && Number.isFinite(at.getTime()))) throw Refusal.invalid(`${field} must be a date`, field);
  }
  if (input.from && input.to && input.from >= input.to) throw Refusal.invalid('from must be before to', 'from');
  return deps.stores.audit.search({
    ...pageOf(input),
    agent: input.agent || undefined,
    action: input.action || undefined,
    targets: input.target ? [{ value: input.target, prefix: input.targetPrefix }] : undefined,
    from: input.from,
    to: input.to,
  });
}
