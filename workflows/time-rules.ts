// Calendar rules of the lifecycle, pure functions of workflow time (safe inside the workflow sandbox).
import { STATE_RULES, type CertificateState, type LifecyclePolicy, type RevocationReason } from './definitions';

export const DAY_MS = 86_400_000;
const TOKYO_OFFSET_MS = 9 * 3_600_000; // Japan has no daylight saving time

export function addDays(epochMs: number, days: number): number {
  return epochMs + days * DAY_MS;
}

/** Same month and day, `years` later (29 February becomes 1 March). */
export function addYears(epochMs: number, years: number): number {
  const d = new Date(epochMs);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.getTime();
}

/** The instant as a Date whose UTC fields read as the Asia/Tokyo wall clock. */
export function tokyoWallClock(epochMs: number): Date {
  return new Date(epochMs + TOKYO_OFFSET_MS);
}

/** The last instant of the Asia/Tokyo calendar day containing epochMs: the "same day" of the manual. */
export function endOfDayInTokyo(epochMs: number): number {
  const tokyoDayStart = Math.floor((epochMs + TOKYO_OFFSET_MS) / DAY_MS) * DAY_MS - TOKYO_OFFSET_MS;
  return tokyoDayStart + DAY_MS - 1;
}

/** yyyymmdd of the Asia/Tokyo calendar day: the date part of a request ID. */
export function tokyoDay(epochMs: number): string {
  return tokyoWallClock(epochMs).toISOString().slice(0, 10).replace(/-/g, '');
}

/** Days before notAfter from which a certificate may be renewed: its first renewal notice (T-30). */
export function renewalWindowDays(policy: Pick<LifecyclePolicy, 'renewalNoticeDays'>): number {
  return Math.max(...policy.renewalNoticeDays);
}

/** The one renewal rule: renewal opens renewalWindowDays before notAfter. */
export function renewalOpensAt(notAfter: number, policy: Pick<LifecyclePolicy, 'renewalNoticeDays'>): number {
  return addDays(notAfter, -renewalWindowDays(policy));
}

/** Why a relying portal would refuse the certificate of a request in this state now; undefined when it admits it. */
export function refusalReason(
  state: CertificateState,
  now: number,
  notAfter: number | undefined,
  revocationReason: RevocationReason | undefined,
): string | undefined {
  if (state === 'revoked') return `${STATE_RULES.revoked.portalRefusal} (${revocationReason ?? 'unspecified'})`;
  if (notAfter !== undefined && now >= notAfter && STATE_RULES[state].delivered) return STATE_RULES.expired.portalRefusal;
  return STATE_RULES[state].portalRefusal;
}
