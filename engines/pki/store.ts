// Data access for the PKI engine: each profile's CA, issued certificates, each CA's current CRL and the key pool
// (SQLite or PostgreSQL through knex).
import type { Knex } from 'knex';
import type { Profile, RevocationReason } from '../../workflows/definitions';
import type { KeyAlgorithm } from './profiles';
import type { SealedKey } from './sealed-key';

export interface IssuedCertificate {
  serial: string;
  issuanceKey: string;
  requestId: string;
  profile: Profile;
  userId: string;
  subject: string;
  email: string;
  subscriberId: string;
  keyAlgorithm: KeyAlgorithm;
  notBefore: Date;
  notAfter: Date;
  certificatePem: string;
  /** The generation of the profile's CA that signed it (1 before any rollover). */
  caGeneration: number;
  sealedKey: SealedKey | null;
  revokedAt: Date | null;
  revocationReason: RevocationReason | null;
}

export interface StoredCrl {
  profile: Profile;
  caGeneration: number;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  der: Buffer;
}

export interface RevokedEntry {
  serial: string;
  revokedAt: Date;
  reason: RevocationReason;
}

/** A profile's CA as every certflow process reads it: the certificate and its key, still encrypted or in a token. */
export interface StoredCa {
  profile: string;
  /** 1 for a profile's first CA, one more at each rollover; the highest signs new certificates. */
  generation: number;
  certificatePem: string;
  /** PKCS#8 PEM, encrypted with CERTFLOW_CA_PASSPHRASE; or, for a key inside a PKCS#11 token, its `pkcs11:` URI (ca-keys.ts). */
  encryptedKeyPem: string;
  createdAt: Date;
}

/** A CA's delegated OCSP responder: its certificate (id-kp-OCSPSigning, signed by the CA) and key, encrypted as the CA's. */
export interface StoredOcspResponder {
  profile: string;
  /** The CA generation that issued it and whose certificates it answers for. */
  caGeneration: number;
  serial: string;
  certificatePem: string;
  /** PKCS#8 PEM, encrypted with CERTFLOW_CA_PASSPHRASE. */
  encryptedKeyPem: string;
  notBefore: Date;
  notAfter: Date;
}

/** A key pair generated ahead of key retrieval: waiting in the pool (claimedBy null), or claimed by one issuance. */
export interface PooledKey {
  id: string;
  keyAlgorithm: KeyAlgorithm;
  /** Sealed under the data key, bound to `id` (sealPooledKey). */
  sealedKey: SealedKey;
  createdAt: Date;
  claimedBy: string | null;
}

export interface PkiStore {
  /** The profile's current CA (its highest generation), or the given generation. */
  findCa(profile: string, generation?: number): Promise<StoredCa | undefined>;
  /** Every generation of the profile's CA, newest first. */
  listCas(profile: string): Promise<StoredCa[]>;
  /** Stores this generation of the profile's CA unless it exists; false when another process's got there first (read it back). */
  insertCa(ca: StoredCa): Promise<boolean>;
  /** The latest notAfter of the certificates this CA generation signed; undefined when it signed none. */
  lastNotAfter(profile: string, generation: number): Promise<Date | undefined>;
  findByIssuanceKey(issuanceKey: string): Promise<IssuedCertificate | undefined>;
  findBySerial(serial: string): Promise<IssuedCertificate | undefined>;
  /** One user's certificates under one profile, newest notBefore first (ties by serial), in one query. */
  listByUser(profile: Profile, userId: string): Promise<IssuedCertificate[]>;
  /**
   * Returns false when the issuance key (or serial) is already taken: the caller lost a race and reads the winner. The
   * pooled key the issuance claimed, if any, leaves the pool in the same transaction: its key now lives in this row.
   */
  insert(certificate: IssuedCertificate): Promise<boolean>;
  destroyKey(issuanceKey: string): Promise<void>;
  /** Marks it revoked unless it already is; returns the row as stored afterwards and whether this call revoked it. */
  markRevoked(serial: string, reason: RevocationReason, revokedAt: Date): Promise<{ certificate: IssuedCertificate; revokedNow: boolean } | undefined>;
  /** The CRL of this CA generation (default: the profile's current CA). */
  currentCrl(profile: Profile, generation?: number): Promise<StoredCrl | undefined>;
  /** Which CRL currentCrl would return, without its DER: a process holding that one signed CRL need not read it again. */
  currentCrlVersion(profile: Profile, generation?: number): Promise<Pick<StoredCrl, 'caGeneration' | 'crlNumber'> | undefined>;
  findOcspResponder(profile: string, generation?: number): Promise<StoredOcspResponder | undefined>;
  /**
   * Stores `responder` as the profile's OCSP responder if the current one is still `replacing` (its serial; undefined:
   * none yet); false when another process renewed it first (read the winner back).
   */
  saveOcspResponder(responder: StoredOcspResponder, replacing: string | undefined): Promise<boolean>;
  /** Adds a key to the pool unless `limit` unclaimed keys of its algorithm wait already (counted under a lock): false then. */
  addPooledKey(key: Omit<PooledKey, 'claimedBy'>, limit: number): Promise<boolean>;
  /**
   * The pooled key this issuance claimed before (a retried activity gets the same key), else one unclaimed key of the
   * algorithm, claimed now for it in one atomic statement, so no two issuances ever get the same key, whichever process
   * asks. Undefined: no unclaimed key (the caller generates one).
   */
  claimPooledKey(keyAlgorithm: KeyAlgorithm, issuanceKey: string, now: Date): Promise<PooledKey | undefined>;
  /** Unclaimed keys per algorithm (an algorithm with none is absent). */
  countPooledKeys(): Promise<Partial<Record<KeyAlgorithm, number>>>;
  /** Runs `next` with the current CRL locked and stores what it returns, so CRL numbers never repeat. */
  replaceCrl(
    profile: Profile,
    generation: number,
    next: (current: StoredCrl | undefined, revoked: () => Promise<RevokedEntry[]>) => Promise<StoredCrl | undefined>,
  ): Promise<StoredCrl | undefined>;
}

const authorities = 'certificate_authorities';
const certificates = 'issued_certificates';
const crls = 'certificate_revocation_lists';
const responders = 'ocsp_responders';
const pool = 'key_pool';

type Row = Record<string, unknown>;

// SQLite returns timestamps as epoch milliseconds, PostgreSQL as Date.
function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : (value as number | string));
}

function fromRow(row: Row): IssuedCertificate {
  return {
    serial: row.serial as string,
    issuanceKey: row.issuance_key as string,
    requestId: row.request_id as string,
    profile: row.profile as Profile,
    userId: row.user_id as string,
    subject: row.subject as string,
    email: row.email as string,
    subscriberId: row.subscriber_id as string,
    keyAlgorithm: row.key_algorithm as KeyAlgorithm,
    notBefore: toDate(row.not_before),
    notAfter: toDate(row.not_after),
    certificatePem: row.certificate_pem as string,
    caGeneration: Number(row.ca_generation),
    sealedKey:
      row.encrypted_private_key && row.private_key_nonce
        ? { ciphertext: Buffer.from(row.encrypted_private_key as Buffer), nonce: Buffer.from(row.private_key_nonce as Buffer) }
        : null,
    revokedAt: row.revoked_at == null ? null : toDate(row.revoked_at),
    revocationReason: (row.revocation_reason as RevocationReason | null) ?? null,
  };
}

function pooledFromRow(row: Row): PooledKey {
  return {
    id: row.id as string,
    keyAlgorithm: row.key_algorithm as KeyAlgorithm,
    sealedKey: { ciphertext: Buffer.from(row.encrypted_private_key as Buffer), nonce: Buffer.from(row.private_key_nonce as Buffer) },
    createdAt: new Date(Number(row.created_at)),
    claimedBy: (row.claimed_by as string | null) ?? null,
  };
}

function crlFromRow(row: Row): StoredCrl {
  return {
    profile: row.profile as Profile,
    caGeneration: Number(row.ca_generation),
    crlNumber: Number(row.crl_number),
    thisUpdate: toDate(row.this_update),
    nextUpdate: toDate(row.next_update),
    der: Buffer.from(row.crl_der as Buffer),
  };
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

async function revokedEntries(db: Knex, profile: Profile, generation: number): Promise<RevokedEntry[]> {
  const rows = await db(certificates)
    .where({ profile, ca_generation: generation })
    .whereNotNull('revoked_at')
    .orderBy('serial')
    .select('serial', 'revoked_at', 'revocation_reason');
  return rows.map((row: Row) => ({
    serial: row.serial as string,
    revokedAt: toDate(row.revoked_at),
    reason: row.revocation_reason as RevocationReason,
  }));
}

function caFromRow(row: Row): StoredCa {
  return {
    profile: row.profile as string,
    generation: Number(row.generation),
    certificatePem: row.certificate_pem as string,
    encryptedKeyPem: row.encrypted_key_pem as string,
    createdAt: toDate(row.created_at),
  };
}

export function createPkiStore(db: Knex): PkiStore {
  const isPostgres = db.client.config.client === 'pg';
  /** The profile's current CA generation, as a subquery: rows of `column` = the highest generation. */
  const currentGeneration = (profile: string) => db(authorities).where({ profile }).max('generation');
  const ofGeneration = (column: string, profile: string, generation: number | undefined) =>
    generation === undefined ? { [column]: currentGeneration(profile) } : { [column]: generation };

  return {
    async findCa(profile, generation) {
      const query = db(authorities).where({ profile });
      const row = await (generation === undefined ? query.orderBy('generation', 'desc') : query.where({ generation })).first();
      return row ? caFromRow(row) : undefined;
    },

    async listCas(profile) {
      return (await db(authorities).where({ profile }).orderBy('generation', 'desc')).map(caFromRow);
    },

    async lastNotAfter(profile, generation) {
      const row = await db(certificates).where({ profile, ca_generation: generation }).max({ last: 'not_after' }).first();
      return row?.last == null ? undefined : toDate(row.last);
    },

    async insertCa(ca) {
      try {
        await db(authorities).insert({
          profile: ca.profile,
          generation: ca.generation,
          certificate_pem: ca.certificatePem,
          encrypted_key_pem: ca.encryptedKeyPem,
          created_at: ca.createdAt,
        });
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },

    async findByIssuanceKey(issuanceKey) {
      const row = await db(certificates).where({ issuance_key: issuanceKey }).first();
      return row ? fromRow(row) : undefined;
    },

    async findBySerial(serial) {
      const row = await db(certificates).where({ serial: serial.toLowerCase() }).first();
      return row ? fromRow(row) : undefined;
    },

    async listByUser(profile, userId) {
      const rows = await db(certificates).where({ profile, user_id: userId }).orderBy([
        { column: 'not_before', order: 'desc' },
        { column: 'serial', order: 'asc' },
      ]);
      return rows.map(fromRow);
    },

    async insert(c) {
      try {
        await db.transaction(async (trx) => {
          await trx(certificates).insert({
            serial: c.serial,
            issuance_key: c.issuanceKey,
            request_id: c.requestId,
            profile: c.profile,
            user_id: c.userId,
            subject: c.subject,
            email: c.email,
            subscriber_id: c.subscriberId,
            key_algorithm: c.keyAlgorithm,
            not_before: c.notBefore,
            not_after: c.notAfter,
            certificate_pem: c.certificatePem,
            ca_generation: c.caGeneration,
            encrypted_private_key: c.sealedKey?.ciphertext ?? null,
            private_key_nonce: c.sealedKey?.nonce ?? null,
            revoked_at: c.revokedAt,
            revocation_reason: c.revocationReason,
          });
          await trx(pool).where({ claimed_by: c.issuanceKey }).delete();
        });
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },

    async destroyKey(issuanceKey) {
      await db(certificates).where({ issuance_key: issuanceKey }).update({ encrypted_private_key: null, private_key_nonce: null });
    },

    async markRevoked(serial, reason, revokedAt) {
      const changed = await db(certificates)
        .where({ serial: serial.toLowerCase() })
        .whereNull('revoked_at')
        .update({ revoked_at: revokedAt, revocation_reason: reason, encrypted_private_key: null, private_key_nonce: null });
      const certificate = await this.findBySerial(serial);
      return certificate && { certificate, revokedNow: changed === 1 };
    },

    async currentCrl(profile, generation) {
      const row = await db(crls).where({ profile }).where(ofGeneration('ca_generation', profile, generation)).first();
      return row ? crlFromRow(row) : undefined;
    },

    async currentCrlVersion(profile, generation) {
      const row = await db(crls).where({ profile }).where(ofGeneration('ca_generation', profile, generation)).first('ca_generation', 'crl_number');
      return row ? { caGeneration: Number(row.ca_generation), crlNumber: Number(row.crl_number) } : undefined;
    },

    async findOcspResponder(profile, generation) {
      const row = await db(responders).where({ profile }).where(ofGeneration('ca_generation', profile, generation)).first();
      if (!row) return undefined;
      return {
        profile: row.profile,
        caGeneration: Number(row.ca_generation),
        serial: row.serial,
        certificatePem: row.certificate_pem,
        encryptedKeyPem: row.encrypted_key_pem,
        notBefore: toDate(row.not_before),
        notAfter: toDate(row.not_after),
      };
    },

    async saveOcspResponder(r, replacing) {
      const values = {
        serial: r.serial,
        certificate_pem: r.certificatePem,
        encrypted_key_pem: r.encryptedKeyPem,
        not_before: r.notBefore,
        not_after: r.notAfter,
      };
      const key = { profile: r.profile, ca_generation: r.caGeneration };
      if (replacing !== undefined) return (await db(responders).where({ ...key, serial: replacing }).update(values)) === 1;
      try {
        await db(responders).insert({ ...key, ...values });
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },

    async addPooledKey(key, limit) {
      const insertUnlessFull = (runner: Knex) =>
        runner.raw(
          `insert into ${pool} (id, key_algorithm, encrypted_private_key, private_key_nonce, created_at) select ?, ?, ?, ?, ? ` +
            `where (select count(*) from ${pool} where key_algorithm = ? and claimed_by is null) < ? returning id`,
          [key.id, key.keyAlgorithm, key.sealedKey.ciphertext, key.sealedKey.nonce, key.createdAt.getTime(), key.keyAlgorithm, limit],
        );
      // SQLite runs one writer at a time: no other process adds between the statement's count and its insert.
      if (!isPostgres) return ((await insertUnlessFull(db)) as Row[]).length === 1;
      return db.transaction(async (trx) => {
        // PostgreSQL's statements see the same count at once: one lock per algorithm, so refilling processes never overfill.
        await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`${pool}:${key.keyAlgorithm}`]);
        return (await insertUnlessFull(trx)).rows.length === 1;
      });
    },

    async claimPooledKey(keyAlgorithm, issuanceKey, now) {
      const claimedBefore = async () => {
        const row = await db(pool).where({ claimed_by: issuanceKey }).first();
        return row ? pooledFromRow(row) : undefined;
      };
      const before = await claimedBefore();
      if (before) return before;
      // One statement: PostgreSQL skips rows other claims hold locked; SQLite runs one writer at a time.
      const lock = isPostgres ? ' for update skip locked' : '';
      try {
        const result = await db.raw(
          `update ${pool} set claimed_by = ?, claimed_at = ? where id = (select id from ${pool} where key_algorithm = ? and claimed_by is null limit 1${lock}) returning *`,
          [issuanceKey, now.getTime(), keyAlgorithm],
        );
        const rows: Row[] = isPostgres ? result.rows : result;
        return rows[0] ? pooledFromRow(rows[0]) : undefined;
      } catch (error) {
        // A concurrent call for the same issuance claimed first (claimed_by is unique): that key is this issuance's.
        if (isUniqueViolation(error)) return claimedBefore();
        throw error;
      }
    },

    async countPooledKeys() {
      const rows: Row[] = await db(pool).whereNull('claimed_by').groupBy('key_algorithm').select('key_algorithm').count({ n: '*' });
      return Object.fromEntries(rows.map((r) => [r.key_algorithm as KeyAlgorithm, Number(r.n)]));
    },

    async replaceCrl(profile, generation, next) {
      const key = { profile, ca_generation: generation };
      return db.transaction(async (trx) => {
        // SQLite serialises writers on its single connection; PostgreSQL needs a lock that also covers a missing first row.
        if (isPostgres) await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`${crls}:${profile}:${generation}`]);
        const row = await trx(crls).where(key).first();
        const current = row ? crlFromRow(row) : undefined;
        const replacement = await next(current, () => revokedEntries(trx, profile, generation));
        if (!replacement) return current;
        const values = {
          crl_number: replacement.crlNumber,
          this_update: replacement.thisUpdate,
          next_update: replacement.nextUpdate,
          crl_der: replacement.der,
        };
        if (current) await trx(crls).where(key).update(values);
        else await trx(crls).insert({ ...key, ...values });
        return replacement;
      });
    },
  };
}
