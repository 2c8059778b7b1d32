// Data access for imported certificates: which request a previous CA's certificate became, keyed by issuer and serial.
import type { Db } from '../infra/db';
import type { Profile } from '../workflows/definitions';

export interface ImportedCertificateRow {
  /** SHA-256 of the previous CA's certificate. */
  issuerFingerprint: string;
  /** Hex lower case, no leading zeros. */
  serial: string;
  /** SHA-256 of the imported certificate itself. */
  fingerprint: string;
  profile: Profile;
  userId: string;
  requestId: string;
  notBefore: Date;
  notAfter: Date;
  createdAt: Date;
}

type Row = Record<string, unknown>;
// SQLite returns timestamps as epoch milliseconds, PostgreSQL as Date.
const toDate = (v: unknown) => (v instanceof Date ? v : new Date(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : (v as number | string)));

const fromRow = (r: Row): ImportedCertificateRow => ({
  issuerFingerprint: String(r.issuer_fingerprint),
  serial: String(r.serial),
  fingerprint: String(r.fingerprint),
  profile: r.profile as Profile,
  userId: String(r.user_id),
  requestId: String(r.request_id),
  notBefore: toDate(r.not_before),
  notAfter: toDate(r.not_after),
  createdAt: toDate(r.created_at),
});

export interface ImportedCertificateStore {
  find(issuerFingerprint: string, serial: string): Promise<ImportedCertificateRow | undefined>;
  /** Throws on a duplicate issuer and serial: the caller's transaction lost to another import of the same certificate. */
  insert(row: ImportedCertificateRow): Promise<void>;
  /** Undoes an import whose workflow could not be started. */
  remove(issuerFingerprint: string, serial: string): Promise<void>;
}

export function createImportedCertificateStore(db: Db): ImportedCertificateStore {
  return {
    async find(issuerFingerprint, serial) {
      const row = await db('imported_certificates').where({ issuer_fingerprint: issuerFingerprint, serial }).first();
      return row && fromRow(row);
    },
    async insert(r) {
      await db('imported_certificates').insert({
        issuer_fingerprint: r.issuerFingerprint,
        serial: r.serial,
        fingerprint: r.fingerprint,
        profile: r.profile,
        user_id: r.userId,
        request_id: r.requestId,
        not_before: r.notBefore,
        not_after: r.notAfter,
        created_at: r.createdAt,
      });
    },
    async remove(issuerFingerprint, serial) {
      await db('imported_certificates').where({ issuer_fingerprint: issuerFingerprint, serial }).delete();
    },
  };
}
