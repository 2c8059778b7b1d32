// Calendar rules of the lifecycle, pure functions of workflow time (safe inside the workflow sandbox).
import type { CertificateState, RevocationReason } from './definitions';

const DAY_MS = 86_400_000;
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

/** The last instant of the Asia/Tokyo calendar day containing epochMs: the "same day" of the manual. */
export function endOfDayInTokyo(epochMs: number): number {
  const tokyoDayStart = Math.floor((epochMs + TOKYO_OFFSET_MS) / DAY_MS) * DAY_MS - TOKYO_OFFSET_MS;
  return tokyoDayStart + DAY_MS - 1;
}

/** Why a relying portal would refuse the certificate of a request in this state now; undefined when it admits it. */
export function refusalReason(
  state: CertificateState,
  now: number,
  notAfter: number | undefined,
  revocationReason: RevocationReason | undefined,
): string | undefined {
  switch (state) {
    case 'awaitingKeyRetrieval':
      return 'no certificate has been issued for this request yet';
    case 'keyReady':
      return 'the certificate has been issued but its key has not been downloaded yet';
    case 'requestExpired':
      return 'the request expired before a certificate was retrieved';
    case 'revoked':
      return `the certificate is revoked (${revocationReason ?? 'unspecified'})`;
    case 'expired':
      return 'the certificate has expired';
    case 'active':
    case 'renewed':
      return notAfter !== undefined && now >= notAfter ? 'the certificate has expired' : undefined;
  }
}
