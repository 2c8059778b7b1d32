// A population of live certificates made for a notice storm: a previous CA (test/support/previous-ca.ts) issues each
// one with the notAfter asked for, and the migration import takes it over, so its workflow waits for T-30 in active.
import { importCertificate, trustPreviousCa, type DomainDeps, type ImportedCertificate } from '../domain';
import { createTestPreviousCa } from '../test/support/previous-ca';

const DAY = 86_400_000;

export interface StormPopulation {
  /** How many certificates to import. */
  n: number;
  /** User IDs are `<prefix><index>`. */
  userPrefix: string;
  /** The notAfter of certificate i; its T-30 notice is due 30 days before. */
  notAfterOf(i: number): Date;
  /** Imports in flight at once. */
  concurrency: number;
  onProgress?(imported: number): void;
}

/** The registration fields of user `userId`, as a bank's import file would carry them. */
function registrationOf(userId: string) {
  return {
    userId,
    profile: 'kdanshinnet' as const,
    email: `${userId}@bank.example.co.jp`,
    idAdminEmail: `id-admin.${userId}@bank.example.co.jp`,
    organization: 'sampleCompany',
    organizationalUnits: ['div1-1-1', 'div1-1', 'div1'],
    subscriberId: `S-${userId}`,
  };
}

/** Trusts a fresh previous CA of kdanshinnet, then imports `n` of its certificates; resolves with each import's answer. */
export async function importStormPopulation(domain: DomainDeps, o: StormPopulation): Promise<ImportedCertificate[]> {
  const previous = await createTestPreviousCa(`Storm Previous CA ${o.userPrefix}`);
  await trustPreviousCa(domain, { profile: 'kdanshinnet', certificatePem: previous.certificatePem });
  const imported: ImportedCertificate[] = new Array(o.n);
  let next = 0;
  let done = 0;
  const lane = async () => {
    for (let i = next++; i < o.n; i = next++) {
      const userId = `${o.userPrefix}${String(i).padStart(6, '0')}`;
      const notAfter = o.notAfterOf(i);
      const issued = await previous.issue({ userId, notBefore: new Date(notAfter.getTime() - 3 * 365 * DAY), notAfter });
      imported[i] = await importCertificate(domain, { ...registrationOf(userId), certificatePem: issued.certificatePem });
      o.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.n) }, lane));
  return imported;
}

/** When certificate `c`'s T-30 renewal notice is due. */
export function noticeDueAt(c: Pick<ImportedCertificate, 'notAfter'>): number {
  return c.notAfter.getTime() - 30 * DAY;
}
