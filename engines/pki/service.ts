// The certificate authority certflow's workflow and web pages call: CA set-up, issuance, PKCS#12, revocation and CRLs.
import { PROFILES, REVOCATION_REASONS, type Profile, type RevocationReason } from '../../workflows/definitions';
import { generateCa, openCa, readCaFiles, type CaMaterial } from './ca';
import { signLeafCertificate } from './certificate';
import { crlNeedsRefresh, signCrl } from './crl';
import { CaUnavailableError, PkiError } from './errors';
import { buildPkcs12 as encodePkcs12 } from './pkcs12';
import { generateKey } from './key-generation';
import type { KeyPool } from './key-pool';
import type { CertificateProfile } from './profiles';
import { openPrivateKey, sealPrivateKey } from './sealed-key';
import { randomSerial } from './serial';
import type { IssuedCertificate, PkiStore } from './store';
import { subjectString, validatePkcs12Password, validateSubject, type SubjectInput } from './subject';
import { x509 } from './crypto-provider';
import { addDays } from '../../workflows/time-rules';
import type { CertflowMetrics } from '../../infra/metrics';

export interface CertificateAuthorityDeps {
  /** Issued certificates and CRLs; the caller builds it (createPkiStore(db)) and may share it. */
  store: PkiStore;
  /**
   * config.ca.dir: where versions before the database kept each CA (`<profile>/ca-key.pem`, `ca-cert.pem`); ensureCas
   * imports a profile's CA from there when the database has none, so an existing data dir keeps its CA.
   */
  caDir: string;
  caPassphrase: string;
  /** config.dataKey: 32 bytes, seals issued private keys until download. */
  dataKey: Buffer;
  profiles: Record<Profile, CertificateProfile>;
  /** Counts certificates this engine newly signs or revokes, and where their keys came from; finding one already done counts nothing. */
  metrics?: Pick<CertflowMetrics, 'certificatesIssued' | 'certificatesRevoked' | 'issuanceKeys'>;
  /** Pre-generated keys (createKeyPool); without one, or when it is empty, each issuance generates its key. */
  keyPool?: Pick<KeyPool, 'claim'>;
}

export interface IssueRequest extends SubjectInput {
  /** Idempotency key of this signing; defaults to requestId (a fresh attempt after a lapsed download has its own). */
  issuanceKey?: string;
  requestId: string;
  profile: Profile;
  notBefore: Date;
  notAfter: Date;
}

export interface IssuedCertificateSummary {
  serial: string;
  certificatePem: string;
  notBefore: Date;
  notAfter: Date;
  /** True when this issuance key had been signed before and the stored certificate is returned. */
  alreadyIssued: boolean;
}

export type CertificateStatusReport =
  | { status: 'unknown'; serial: string }
  | {
      status: 'good' | 'revoked';
      serial: string;
      profile: Profile;
      userId: string;
      requestId: string;
      notBefore: Date;
      notAfter: Date;
      revokedAt?: Date;
      revocationReason?: RevocationReason;
    };

export interface CertificateAuthority {
  /**
   * Makes sure every profile has its CA in the database (imported from caDir, else created) and a CRL; safe when several
   * processes start at once: one CA per profile wins and all of them use it.
   */
  ensureCas(now: Date): Promise<{ created: Profile[]; imported: Profile[] }>;
  issue(request: IssueRequest): Promise<IssuedCertificateSummary>;
  buildPkcs12(issuanceKey: string, password: string, options: { userId: string }): Promise<Buffer>;
  destroyKey(issuanceKey: string): Promise<void>;
  revoke(request: { serial: string; reason: RevocationReason; revokedAt: Date }): Promise<{ revokedAt: Date; reason: RevocationReason }>;
  crl(profile: Profile, now: Date): Promise<Buffer>;
  caCertificatePem(profile: Profile): Promise<string>;
  status(serial: string): Promise<CertificateStatusReport>;
  /** Admins' list of a user's certificates, newest first. */
  certificatesOf(profile: Profile, userId: string): Promise<Array<Omit<IssuedCertificate, 'sealedKey'> & { keyAvailable: boolean }>>;
}

export function createCertificateAuthority(deps: CertificateAuthorityDeps): CertificateAuthority {
  const { store, caDir, caPassphrase, dataKey, profiles, metrics, keyPool } = deps;
  if (!caPassphrase) throw new CaUnavailableError('*', 'CERTFLOW_CA_PASSPHRASE is not set: the CA keys cannot be opened');
  if (!Buffer.isBuffer(dataKey) || dataKey.length !== 32) throw new Error('dataKey must be a 32-byte Buffer (AES-256)');
  const loaded = new Map<Profile, Promise<CaMaterial>>();

  function profileOf(name: string): CertificateProfile {
    const profile = (PROFILES as readonly string[]).includes(name) ? profiles[name as Profile] : undefined;
    if (!profile) throw new PkiError('profileUnknown', `unknown certificate profile ${JSON.stringify(name)}`, 400);
    return profile;
  }

  function ca(profile: Profile): Promise<CaMaterial> {
    let material = loaded.get(profile);
    if (!material) {
      material = store.findCa(profile).then((stored) => {
        if (!stored) throw new CaUnavailableError(profile, `CA ${profile} is not set up in the database: run \`npm run ca:init\``);
        return openCa(stored, caPassphrase);
      });
      // A failed load (e.g. no CA yet) is not cached, so a later ensureCas can succeed.
      material.catch(() => loaded.delete(profile));
      loaded.set(profile, material);
    }
    return material;
  }

  async function refreshCrl(profile: Profile, when: Date, force: boolean): Promise<Buffer> {
    const settings = profileOf(profile);
    const material = await ca(profile);
    const stored = await store.replaceCrl(profile, async (current, revoked) => {
      if (!force && !crlNeedsRefresh(current, when)) return undefined;
      // thisUpdate never goes backwards, even when a retried revocation carries an earlier date.
      const thisUpdate = current && current.thisUpdate > when ? current.thisUpdate : when;
      const nextUpdate = new Date(addDays(thisUpdate.getTime(), settings.crlValidityDays));
      const crlNumber = (current?.crlNumber ?? 0) + 1;
      const der = await signCrl(material, { crlNumber, thisUpdate, nextUpdate, entries: await revoked() });
      return { profile, crlNumber, thisUpdate, nextUpdate, der };
    });
    return stored!.der;
  }

  function summary(c: IssuedCertificate, alreadyIssued: boolean): IssuedCertificateSummary {
    return { serial: c.serial, certificatePem: c.certificatePem, notBefore: c.notBefore, notAfter: c.notAfter, alreadyIssued };
  }

  return {
    async ensureCas(now) {
      const created: Profile[] = [];
      const imported: Profile[] = [];
      for (const name of PROFILES) {
        if (!(await store.findCa(name))) {
          const files = readCaFiles(caDir, name, now);
          // Checked before it is stored: a passphrase that does not open the files must not put them in the database.
          if (files) await openCa(files, caPassphrase, `in ${caDir}`);
          const candidate = files ?? (await generateCa(profileOf(name), caPassphrase, now));
          // The unique profile decides between processes starting together; the loser uses the winner's CA.
          if (await store.insertCa(candidate)) (files ? imported : created).push(name);
        }
        loaded.delete(name);
        await ca(name);
        // Not forced: of processes starting together, the first signs the CRL and the others find it fresh.
        if (!(await store.currentCrl(name))) await refreshCrl(name, now, false);
      }
      return { created, imported };
    },

    async issue(request) {
      const issuanceKey = request.issuanceKey ?? request.requestId;
      const existing = await store.findByIssuanceKey(issuanceKey);
      if (existing) return summary(existing, true);

      const settings = profileOf(request.profile);
      const subject = validateSubject(request);
      if (!request.requestId || request.requestId.length > 32) throw new PkiError('issuanceInvalid', 'requestId must be 1–32 characters', 400);
      if (issuanceKey.length > 48) throw new PkiError('issuanceInvalid', 'issuanceKey must be at most 48 characters', 400);
      if (!(request.notBefore instanceof Date) || !(request.notAfter instanceof Date) || !(request.notBefore < request.notAfter)) {
        throw new PkiError('issuanceInvalid', 'notBefore must be a date before notAfter', 400);
      }
      const material = await ca(request.profile);
      if (request.notAfter > material.certificate.notAfter) {
        throw new PkiError('issuanceInvalid', `notAfter is beyond the ${request.profile} CA's own validity`, 400);
      }

      // A pooled key claimed by this issuance stays its own: a retry after a failure below signs with the same key.
      const pooled = await keyPool?.claim(settings.keyAlgorithm, issuanceKey);
      const { privateKey, publicKey } = pooled ?? (await generateKey(settings.keyAlgorithm));
      const serial = randomSerial();
      const der = await signLeafCertificate(
        material,
        { serial, subject, notBefore: request.notBefore, notAfter: request.notAfter, crlUrl: settings.crlUrl },
        publicKey,
      );
      const certificate = new x509.X509Certificate(der);
      const record: IssuedCertificate = {
        serial,
        issuanceKey,
        requestId: request.requestId,
        profile: request.profile,
        userId: subject.userId,
        subject: subjectString(subject),
        email: subject.email,
        subscriberId: subject.subscriberId,
        keyAlgorithm: settings.keyAlgorithm,
        // As encoded (whole seconds), so what the database says is what the certificate says.
        notBefore: certificate.notBefore,
        notAfter: certificate.notAfter,
        certificatePem: certificate.toString('pem'),
        sealedKey: sealPrivateKey(dataKey, issuanceKey, privateKey),
        revokedAt: null,
        revocationReason: null,
      };
      if (await store.insert(record)) {
        metrics?.certificatesIssued.inc({ profile: request.profile });
        metrics?.issuanceKeys.inc({ algorithm: settings.keyAlgorithm, source: pooled ? 'pool' : 'generated' });
        return summary(record, false);
      }
      // A concurrent call won the unique constraint: its certificate is the one; ours was never stored or shown.
      const winner = await store.findByIssuanceKey(issuanceKey);
      if (!winner) throw new Error(`serial ${serial} collided with an existing certificate; retry`);
      return summary(winner, true);
    },

    async buildPkcs12(issuanceKey, password, { userId }) {
      validatePkcs12Password(password, { userId });
      const issued = await store.findByIssuanceKey(issuanceKey);
      if (!issued) throw new PkiError('issuanceUnknown', `no certificate was issued for ${issuanceKey}`, 404);
      if (issued.userId !== userId) throw new PkiError('userMismatch', `the certificate of ${issuanceKey} belongs to another user`, 403);
      if (issued.revokedAt) throw new PkiError('certificateRevoked', `the certificate of ${issuanceKey} is revoked`, 409);
      if (!issued.sealedKey) throw new PkiError('keyDestroyed', `the private key of ${issuanceKey} has been destroyed; request a new certificate`, 410);
      const settings = profileOf(issued.profile);
      const material = await ca(issued.profile);
      return encodePkcs12({
        privateKey: openPrivateKey(dataKey, issuanceKey, issued.sealedKey),
        certificateDer: Buffer.from(new x509.X509Certificate(issued.certificatePem).rawData),
        chainDer: [material.certificateDer],
        friendlyName: `${issued.userId} (${settings.serviceName})`,
        password,
        encryption: settings.pkcs12Encryption,
        iterations: settings.pkcs12Iterations,
      });
    },

    async destroyKey(issuanceKey) {
      await store.destroyKey(issuanceKey);
    },

    async revoke({ serial, reason, revokedAt }) {
      if (!(REVOCATION_REASONS as readonly string[]).includes(reason)) {
        throw new PkiError('issuanceInvalid', `unknown revocation reason ${JSON.stringify(reason)}`, 400);
      }
      const marked = await store.markRevoked(serial, reason, revokedAt);
      if (!marked) throw new PkiError('serialUnknown', `no certificate with serial ${serial}`, 404);
      const revoked = marked.certificate;
      if (marked.revokedNow) metrics?.certificatesRevoked.inc({ profile: revoked.profile, reason: revoked.revocationReason! });
      const current = await store.currentCrl(revoked.profile);
      // A retry after the CRL was already re-signed changes nothing; one after a failed re-signing completes it.
      const listed = current ? new x509.X509Crl(current.der).findRevoked(revoked.serial) !== null : false;
      if (!listed) await refreshCrl(revoked.profile, revoked.revokedAt!, true);
      return { revokedAt: revoked.revokedAt!, reason: revoked.revocationReason! };
    },

    async crl(profile, now) {
      profileOf(profile);
      const current = await store.currentCrl(profile);
      if (current && !crlNeedsRefresh(current, now)) return current.der;
      return refreshCrl(profile, now, false);
    },

    async caCertificatePem(profile) {
      profileOf(profile);
      return (await ca(profile)).certificatePem;
    },

    async status(serial) {
      const issued = /^[0-9a-f]{1,40}$/i.test(serial) ? await store.findBySerial(serial) : undefined;
      if (!issued) return { status: 'unknown', serial };
      return {
        status: issued.revokedAt ? 'revoked' : 'good',
        serial: issued.serial,
        profile: issued.profile,
        userId: issued.userId,
        requestId: issued.requestId,
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
        ...(issued.revokedAt ? { revokedAt: issued.revokedAt, revocationReason: issued.revocationReason! } : {}),
      };
    },

    async certificatesOf(profile, userId) {
      const list = await store.listByUser(profile, userId);
      return list.map(({ sealedKey, ...rest }) => ({ ...rest, keyAvailable: !!sealedKey }));
    },
  };
}
