// The previous CAs of each profile: the CAs a bank's live certificates were issued by before certflow, registered
// (with their last CRL) for the migration import and for renewal with an imported certificate. Kept in the database
// so every process trusts the same ones; parsed once per change, as an import may check 100,000 certificates.
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { PROFILES, type Profile } from '../../workflows/definitions';
import { x509 } from './crypto-provider';
import { PkiError } from './errors';

export interface PreviousCa {
  profile: Profile;
  /** SHA-256 of the CA certificate's DER, hex lower case. */
  fingerprint: string;
  subject: string;
  certificatePem: string;
  notAfter: Date;
  /** The registered CRL, if any: when it was issued and how many serials it lists. */
  crl?: { thisUpdate: Date; revokedCount: number };
}

/** A certificate signed by one of the profile's previous CAs (its signature checked, nothing else yet). */
export interface PreviousCaCertificate {
  issuer: PreviousCa;
  /** Hex lower case without leading zeros, as the CRL and the imported_certificates table compare it. */
  serial: string;
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  der: Buffer;
}

/** Why a certificate of a previous CA may not be used now. */
export type PreviousCaProblem = { refusal: 'expired' | 'notYetValid' | 'revoked'; reason: string };

export interface PreviousCas {
  /** Registers (or re-registers) a CA certificate as a previous CA of the profile. */
  trust(profile: Profile, certificate: string | Buffer, now: Date): Promise<PreviousCa>;
  /** Registers the CRL of a trusted previous CA (PEM or DER), checked to be signed by it; replaces the one before. */
  setCrl(profile: Profile, fingerprint: string, crl: string | Buffer, now: Date): Promise<PreviousCa>;
  list(profile?: Profile): Promise<PreviousCa[]>;
  /** The previous CA of the profile that signed the certificate, or undefined (a foreign certificate). */
  identify(profile: Profile, certificate: string | Buffer | crypto.X509Certificate): Promise<PreviousCaCertificate | undefined>;
  /** Undefined when the certificate is within its validity and not on its CA's CRL. */
  problem(certificate: PreviousCaCertificate, now: Date): Promise<PreviousCaProblem | undefined>;
}

const table = 'previous_cas';
type Row = Record<string, unknown>;

// SQLite returns timestamps as epoch milliseconds, PostgreSQL as Date.
const toDate = (v: unknown) => (v instanceof Date ? v : new Date(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : (v as number | string)));

/** Serial numbers compared as integers: hex lower case without the sign byte's or any other leading zeros. */
export function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}

const sha256 = (der: Buffer) => crypto.createHash('sha256').update(der).digest('hex');

function parseCertificate(input: string | Buffer, what: string): crypto.X509Certificate {
  try {
    return new crypto.X509Certificate(input);
  } catch {
    throw new PkiError('certificateInvalid', `${what} is not an X.509 certificate (PEM or DER)`, 400);
  }
}

function subjectOf(certificate: crypto.X509Certificate): string {
  return certificate.subject.split('\n').reverse().join(', ');
}

interface LoadedCa {
  ca: PreviousCa;
  certificate: crypto.X509Certificate;
  /** Normalised serials on its CRL, with when and why they were revoked. */
  revoked: Map<string, { revokedAt: Date; reason?: string }>;
}

/**
 * A bank's CRL may list many thousands of serials, some ten ASN.1 nodes each: asn1js's default cap of 10,000 nodes (its
 * guard against a small input that unfolds into a huge tree) refused any CRL past ~1,500 entries. The cap is the input's
 * own length instead (a node takes at least two bytes), so it still grows only with what was sent (the API takes 8 MB).
 */
function readCrl(input: string | Buffer): x509.X509Crl {
  return new x509.X509Crl(input, { berOptions: { maxNodes: Math.max(10_000, input.length) } });
}

function parseCrl(input: string | Buffer): x509.X509Crl {
  try {
    return readCrl(input);
  } catch {
    throw new PkiError('crlInvalid', 'the CRL is not an X.509 CRL (PEM or DER)', 400);
  }
}

function revokedOf(crl: x509.X509Crl): LoadedCa['revoked'] {
  const revoked: LoadedCa['revoked'] = new Map();
  for (const entry of crl.entries) {
    const reason = entry.reason === undefined ? undefined : x509.X509CrlReason[entry.reason];
    revoked.set(normalizeSerial(entry.serialNumber), { revokedAt: entry.revocationDate, reason });
  }
  return revoked;
}

function load(row: Row): LoadedCa {
  const certificate = new crypto.X509Certificate(row.certificate_pem as string);
  const crlDer = row.crl_der ? Buffer.from(row.crl_der as Buffer) : undefined;
  const revoked = crlDer ? revokedOf(readCrl(crlDer)) : new Map();
  return {
    certificate,
    revoked,
    ca: {
      profile: row.profile as Profile,
      fingerprint: row.fingerprint as string,
      subject: row.subject as string,
      certificatePem: row.certificate_pem as string,
      notAfter: toDate(row.not_after),
      ...(crlDer ? { crl: { thisUpdate: toDate(row.crl_this_update), revokedCount: revoked.size } } : {}),
    },
  };
}

export function createPreviousCas(db: Knex): PreviousCas {
  // Per profile: the rows' version (fingerprints and update times) and what was parsed from them.
  const cache = new Map<Profile, { version: string; cas: LoadedCa[] }>();

  async function loaded(profile: Profile): Promise<LoadedCa[]> {
    // A light query on every call, so a CA or CRL registered by another process is seen at once; blobs only on change.
    const versions = await db(table).where({ profile }).orderBy('fingerprint').select('fingerprint', 'updated_at');
    const version = versions.map((v: Row) => `${v.fingerprint}@${toDate(v.updated_at).getTime()}`).join(',');
    const cached = cache.get(profile);
    if (cached?.version === version) return cached.cas;
    const rows = await db(table).where({ profile }).orderBy('fingerprint');
    const cas = rows.map(load);
    cache.set(profile, { version, cas });
    return cas;
  }

  async function find(profile: Profile, fingerprint: string): Promise<LoadedCa> {
    const found = (await loaded(profile)).find((l) => l.ca.fingerprint === fingerprint.toLowerCase());
    if (!found) throw new PkiError('previousCaUnknown', `no previous CA ${fingerprint} is registered for profile ${profile}`, 404);
    return found;
  }

  return {
    async trust(profile, input, now) {
      const certificate = parseCertificate(input, 'the previous CA');
      if (!certificate.ca) throw new PkiError('previousCaInvalid', `${subjectOf(certificate)} is not a CA certificate (basicConstraints cA is not set)`, 400);
      const fingerprint = sha256(certificate.raw);
      const values = {
        subject: subjectOf(certificate),
        certificate_pem: certificate.toString(),
        not_after: new Date(certificate.validTo),
        updated_at: now,
      };
      // Registering the same CA again keeps its CRL: the CRL has its own command.
      await db(table)
        .insert({ profile, fingerprint, ...values, created_at: now })
        .onConflict(['profile', 'fingerprint'])
        .merge(values);
      return (await find(profile, fingerprint)).ca;
    },

    async setCrl(profile, fingerprint, input, now) {
      const { certificate } = await find(profile, fingerprint);
      const crl = parseCrl(input);
      const signer = new x509.X509Certificate(certificate.raw);
      if (crl.issuer !== signer.subject || !(await crl.verify({ publicKey: signer }))) {
        throw new PkiError('crlInvalid', `the CRL is not signed by the previous CA ${subjectOf(certificate)}`, 400);
      }
      await db(table)
        .where({ profile, fingerprint: fingerprint.toLowerCase() })
        .update({ crl_der: Buffer.from(crl.rawData), crl_this_update: crl.thisUpdate, updated_at: now });
      return (await find(profile, fingerprint)).ca;
    },

    async list(profile) {
      const all = await Promise.all((profile ? [profile] : [...PROFILES]).map(loaded));
      return all.flat().map((l) => l.ca);
    },

    async identify(profile, input) {
      const certificate = input instanceof crypto.X509Certificate ? input : parseCertificate(input, 'the certificate');
      for (const { ca, certificate: caCertificate } of await loaded(profile)) {
        if (certificate.checkIssued(caCertificate) && certificate.verify(caCertificate.publicKey)) {
          return {
            issuer: ca,
            serial: normalizeSerial(certificate.serialNumber),
            fingerprint: sha256(certificate.raw),
            notBefore: new Date(certificate.validFrom),
            notAfter: new Date(certificate.validTo),
            der: certificate.raw,
          };
        }
      }
      return undefined;
    },

    async problem(certificate, now) {
      if (now < certificate.notBefore) return { refusal: 'notYetValid', reason: `the certificate is not valid before ${certificate.notBefore.toISOString()}` };
      if (now >= certificate.notAfter) return { refusal: 'expired', reason: `the certificate expired on ${certificate.notAfter.toISOString()}` };
      const { revoked } = await find(certificate.issuer.profile, certificate.issuer.fingerprint);
      const entry = revoked.get(certificate.serial);
      if (entry) {
        const reason = `the certificate is on the CRL of the previous CA ${certificate.issuer.subject}: revoked on ${entry.revokedAt.toISOString()}${entry.reason ? ` (${entry.reason})` : ''}`;
        return { refusal: 'revoked', reason };
      }
      return undefined;
    },
  };
}
