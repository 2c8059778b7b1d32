// The certificate authority certflow's workflow and web pages call: CA set-up, issuance, PKCS#12, revocation and CRLs.
import { PROFILES, REVOCATION_REASONS, type Profile, type RevocationReason } from '../../workflows/definitions';
import { generateCa, openCa, readCaFiles, type CaMaterial } from './ca';
import { createCaKeyStores, type CaKeyStoreSettings } from './ca-keys';
import type { StoredCa, StoredCrl } from './store';
import { signLeafCertificate } from './certificate';
import type { CertID } from '@peculiar/asn1-ocsp';
import type { Extension } from '@peculiar/asn1-x509';
import { crlLists, crlNeedsRefresh, halfwayPassed, signCrl } from './crl';
import { CaUnavailableError, PkiError } from './errors';
import {
  certIdKey,
  generateOcspSigner,
  MalformedOcspRequest,
  OCSP_MALFORMED_REQUEST,
  ocspSignerUsable,
  openOcspSigner,
  parseOcspRequest,
  serialAskedOf,
  signOcspResponse,
  type CertIdStatus,
  type OcspSigner,
} from './ocsp';
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
  /**
   * config.ca.keyStore: where each profile's new CA key is made (file: encrypted with caPassphrase in the database;
   * pkcs11: inside the token). A stored CA is opened where its key reference says, whatever this says now.
   */
  caKeyStore?: CaKeyStoreSettings;
  /** config.dataKey: 32 bytes, seals issued private keys until download. */
  dataKey: Buffer;
  profiles: Record<Profile, CertificateProfile>;
  /** Counts certificates this engine newly signs or revokes, and where their keys came from; finding one already done counts nothing. */
  metrics?: Pick<CertflowMetrics, 'certificatesIssued' | 'certificatesRevoked' | 'issuanceKeys'>;
  /** Pre-generated keys (createKeyPool); without one, or when it is empty, each issuance generates its key. */
  keyPool?: Pick<KeyPool, 'claim'>;
  /**
   * How long a signed CRL held in memory is served before the database is asked (one small query) whether another
   * process signed a newer one; default 1000 ms. A revocation by this engine replaces it at once.
   */
  crlRecheckMs?: number;
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
      /** The generation of the profile's CA that signed it. */
      caGeneration: number;
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
  /** The CRL of the profile's current CA, or of an older generation (each signed by its own key). */
  crl(profile: Profile, now: Date, generation?: number): Promise<Buffer>;
  /** The current CA's certificate: the one that signs new certificates. */
  caCertificatePem(profile: Profile): Promise<string>;
  /** Every generation of the profile's CA, newest (current) first, with when its last certificate expires. */
  caGenerations(profile: Profile): Promise<CaGeneration[]>;
  /**
   * The CA file relying parties trust: the current CA's certificate and every older one that still has an unexpired
   * certificate at `now`, newest first, concatenated.
   */
  caCertificatesPem(profile: Profile, now: Date): Promise<string>;
  /**
   * A new CA key and certificate for the profile (the next generation), from now on signing every new certificate; the
   * older generations keep their CRL and OCSP. Refused when another rollover of the profile got there first.
   */
  rollover(profile: Profile, now: Date): Promise<CaGeneration>;
  /**
   * The DER OCSPResponse (RFC 6960) to a DER OCSPRequest for this profile's CA, signed by its delegated responder at
   * `now`; a request that cannot be read gets a malformedRequest response, never an exception.
   */
  ocspResponse(profile: Profile, request: Buffer, now: Date): Promise<Buffer>;
  /** The delegated OCSP-signing certificate in use at `now` (issued, or renewed, when there is none usable). */
  ocspSignerPem(profile: Profile, now: Date): Promise<string>;
  status(serial: string): Promise<CertificateStatusReport>;
  /** Admins' list of a user's certificates, newest first. */
  certificatesOf(profile: Profile, userId: string): Promise<Array<Omit<IssuedCertificate, 'sealedKey'> & { keyAvailable: boolean }>>;
}

export interface CaGeneration {
  generation: number;
  current: boolean;
  certificatePem: string;
  /** The latest notAfter of the certificates it signed (undefined: none); an older CA is published until then. */
  lastNotAfter?: Date;
}

/** How long a process reuses the list of a profile's CA generations: a rollover by another process is seen within it. */
const GENERATIONS_REUSE_MS = 10_000;

/**
 * How long a signed answer without a nonce is reused. Its key holds the database's revocation state of every serial
 * asked (read on each request), so a revocation by any process changes the key at once: the reuse only saves signatures.
 */
const OCSP_REUSE_MS = 30_000;
const OCSP_REUSE_MAX_ENTRIES = 10_000;

interface ReadOcspRequest {
  materials: CaMaterial[];
  /** The CA generation that answers: the issuer of the first CertID this profile's CAs know (else the current). */
  generation: number;
  nonce?: Extension;
  items: Array<{ certId: CertID; serial: string | undefined; idKey: string }>;
}

/** Adds to a bounded memo, the oldest entry making room. */
function remember<V>(memo: Map<string, V>, key: string, value: V): void {
  memo.delete(key);
  if (memo.size >= OCSP_REUSE_MAX_ENTRIES) memo.delete(memo.keys().next().value!);
  memo.set(key, value);
}

/** The CRL distribution point of a CA generation: the first keeps the profile's URL its certificates already carry. */
export function crlUrlOf(profile: CertificateProfile, generation: number): string {
  return generation === 1 ? profile.crlUrl : profile.crlUrl.replace(/\.crl$/, `.g${generation}.crl`);
}

// The same array while the list is reused, so a request read against it is read once.
const materialLists = new WeakMap<object, CaMaterial[]>();
function materialsOf(list: Array<{ material: CaMaterial }>): CaMaterial[] {
  let materials = materialLists.get(list);
  if (!materials) materialLists.set(list, (materials = list.map((g) => g.material)));
  return materials;
}

export function createCertificateAuthority(deps: CertificateAuthorityDeps): CertificateAuthority {
  const { store, caDir, caPassphrase, dataKey, profiles, metrics, keyPool } = deps;
  if (!caPassphrase) throw new CaUnavailableError('*', 'CERTFLOW_CA_PASSPHRASE is not set: the CA keys cannot be opened');
  const caKeys = createCaKeyStores(caPassphrase, deps.caKeyStore);
  if (!Buffer.isBuffer(dataKey) || dataKey.length !== 32) throw new Error('dataKey must be a 32-byte Buffer (AES-256)');
  // Opened CA generations: a stored generation never changes, so each is opened once.
  const loaded = new Map<string, Promise<CaMaterial>>();
  const generationLists = new Map<Profile, { at: number; list: Promise<Array<{ stored: StoredCa; material: CaMaterial; lastNotAfter?: Date }>> }>();
  // The signed CRL per profile and generation asked ('current' for the current one), served from memory: a CRL of
  // 10,000 entries is ~400 kB, read from the database again only when its number there has changed.
  const heldCrls = new Map<string, { crl: StoredCrl; checkedAt: number }>();
  // Bumped by each CRL this engine signs: a read that started before it must not put an older CRL back in memory.
  let crlsSigned = 0;
  const crlRecheckMs = deps.crlRecheckMs ?? 1000;

  function profileOf(name: string): CertificateProfile {
    const profile = (PROFILES as readonly string[]).includes(name) ? profiles[name as Profile] : undefined;
    if (!profile) throw new PkiError('profileUnknown', `unknown certificate profile ${JSON.stringify(name)}`, 400);
    return profile;
  }

  function open(stored: StoredCa): Promise<CaMaterial> {
    const key = `${stored.profile}:${stored.generation}`;
    let material = loaded.get(key);
    if (!material) {
      material = openCa(stored, caKeys);
      // A failed opening (e.g. the token not there yet) is not cached, so a later call can succeed.
      material.catch(() => loaded.delete(key));
      loaded.set(key, material);
    }
    return material;
  }

  const notSetUp = (profile: Profile) => new CaUnavailableError(profile, `CA ${profile} is not set up in the database: run \`npm run ca:init\``);

  /** The profile's current CA (or the given generation), read from the database each time: a rollover elsewhere counts at once. */
  async function ca(profile: Profile, generation?: number): Promise<CaMaterial> {
    const stored = await store.findCa(profile, generation);
    if (!stored) throw generation === undefined ? notSetUp(profile) : new PkiError('profileUnknown', `CA ${profile} has no generation ${generation}`, 404);
    return open(stored);
  }

  /** Every generation of the profile's CA, newest first, opened; reused for GENERATIONS_REUSE_MS. */
  function generations(profile: Profile) {
    const held = generationLists.get(profile);
    if (held && Date.now() - held.at < GENERATIONS_REUSE_MS) return held.list;
    const list = store.listCas(profile).then(async (cas) => {
      if (!cas.length) throw notSetUp(profile);
      return Promise.all(
        cas.map(async (stored, i) => ({
          stored,
          material: await open(stored),
          // The current generation still signs: its last notAfter is not final (nor needed).
          lastNotAfter: i === 0 ? undefined : await store.lastNotAfter(profile, stored.generation),
        })),
      );
    });
    generationLists.set(profile, { at: Date.now(), list });
    list.catch(() => generationLists.get(profile)?.list === list && generationLists.delete(profile));
    return list;
  }

  // Opened signers; each is read again from the database once its own renewal point passes (another process may have renewed it).
  const signers = new Map<string, { loading: Promise<OcspSigner>; ready?: OcspSigner }>();
  const ocspAnswers = new Map<string, { der: Buffer; until: number }>();
  const readRequests = new Map<string, ReadOcspRequest>();

  async function loadOcspSigner(profile: Profile, material: CaMaterial, now: Date): Promise<OcspSigner> {
    let stored = await store.findOcspResponder(profile, material.generation);
    if (!stored || !(await ocspSignerUsable(stored, material, now))) {
      const fresh = await generateOcspSigner(material, profileOf(profile).ocspSignerValidityDays, caPassphrase, now);
      // The serial read decides between processes renewing together; the loser uses the winner's.
      stored = (await store.saveOcspResponder(fresh, stored?.serial)) ? fresh : await store.findOcspResponder(profile, material.generation);
      if (!stored) throw new Error(`OCSP responder ${profile} vanished while it was renewed; retry`);
    }
    return openOcspSigner(stored, caPassphrase);
  }

  function ocspSigner(profile: Profile, material: CaMaterial, now: Date): Promise<OcspSigner> {
    const key = `${profile}:${material.generation}`;
    const held = signers.get(key);
    if (held && (!held.ready || (now >= held.ready.notBefore && !halfwayPassed(held.ready.notBefore, held.ready.notAfter, now)))) return held.loading;
    const entry: { loading: Promise<OcspSigner>; ready?: OcspSigner } = { loading: loadOcspSigner(profile, material, now) };
    signers.set(key, entry);
    entry.loading.then(
      (signer) => (entry.ready = signer),
      () => signers.get(key) === entry && signers.delete(key),
    );
    return entry.loading;
  }

  /** A request as read for this CA; undefined when malformed. Relying parties repeat the same bytes (no nonce): read once. */
  function readOcspRequest(profile: Profile, materials: CaMaterial[], request: Buffer): ReadOcspRequest | undefined {
    const memo = `${profile}:${request.toString('base64')}`;
    const known = readRequests.get(memo);
    // The CA generations are part of what was read (issuer hashes): another list (a rollover) reads the request again.
    if (known && known.materials === materials) return known;
    let parsed;
    try {
      parsed = parseOcspRequest(request);
    } catch (error) {
      if (error instanceof MalformedOcspRequest) return undefined;
      throw error;
    }
    // The issuer hashes say which generation a CertID is of; one response is signed for one generation, so a CertID of
    // another one in the same request is answered unknown.
    const issuerOf = (certId: CertID) => materials.find((material) => serialAskedOf(certId, material) !== undefined);
    const answering = parsed.certIds.map(issuerOf).find((material) => material !== undefined) ?? materials[0]!;
    const read: ReadOcspRequest = {
      materials,
      generation: answering.generation,
      nonce: parsed.nonce,
      items: parsed.certIds.map((certId) => ({ certId, serial: serialAskedOf(certId, answering), idKey: certIdKey(certId) })),
    };
    // A single-certificate request is ~100 bytes; bigger ones are rare enough not to hold memory for.
    if (!read.nonce && request.length <= 1024) remember(readRequests, memo, read);
    return read;
  }

  async function certIdStatus(profile: Profile, generation: number, serial: string | undefined): Promise<CertIdStatus> {
    const issued = serial === undefined ? undefined : await store.findBySerial(serial);
    // Issuer + serial: a serial of the other profile's CA, or of another generation, is not this CA's to answer.
    if (!issued || issued.profile !== profile || issued.caGeneration !== generation) return { status: 'unknown' };
    if (!issued.revokedAt) return { status: 'good' };
    return { status: 'revoked', revokedAt: issued.revokedAt, reason: issued.revocationReason! };
  }

  async function refreshCrl(profile: Profile, material: CaMaterial, when: Date, force: boolean): Promise<StoredCrl> {
    const settings = profileOf(profile);
    const stored = await store.replaceCrl(profile, material.generation, async (current, revoked) => {
      if (!force && !crlNeedsRefresh(current, when)) return undefined;
      // thisUpdate never goes backwards, even when a retried revocation carries an earlier date.
      const thisUpdate = current && current.thisUpdate > when ? current.thisUpdate : when;
      const nextUpdate = new Date(addDays(thisUpdate.getTime(), settings.crlValidityDays));
      const crlNumber = (current?.crlNumber ?? 0) + 1;
      const der = await signCrl(material, { crlNumber, thisUpdate, nextUpdate, entries: await revoked() });
      return { profile, caGeneration: material.generation, crlNumber, thisUpdate, nextUpdate, der };
    });
    // Whatever this profile's CRLs were in memory, the next request reads the one just stored.
    crlsSigned++;
    for (const key of heldCrls.keys()) if (key.startsWith(`${profile}:`)) heldCrls.delete(key);
    return stored!;
  }

  function summary(c: IssuedCertificate, alreadyIssued: boolean): IssuedCertificateSummary {
    return { serial: c.serial, certificatePem: c.certificatePem, notBefore: c.notBefore, notAfter: c.notAfter, alreadyIssued };
  }

  return {
    async ensureCas(now) {
      const created: Profile[] = [];
      const imported: Profile[] = [];
      // A configured token that is missing, or a wrong PIN, stops start-up here with its name.
      await caKeys.check();
      for (const name of PROFILES) {
        if (!(await store.findCa(name))) {
          const files = readCaFiles(caDir, name, now);
          // Checked before it is stored: a passphrase that does not open the files must not put them in the database.
          if (files) await openCa(files, caKeys, `in ${caDir}`);
          const generated = files ? undefined : await generateCa(profileOf(name), caKeys.forNew(name), now);
          // The unique profile decides between processes starting together; the loser uses the winner's CA.
          if (await store.insertCa(files ?? generated!.ca)) (files ? imported : created).push(name);
          else await generated?.discard();
        }
        const material = await ca(name);
        // Not forced: of processes starting together, the first signs the CRL and the others find it fresh.
        if (!(await store.currentCrl(name, material.generation))) await refreshCrl(name, material, now, false);
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
        { serial, subject, notBefore: request.notBefore, notAfter: request.notAfter, crlUrl: crlUrlOf(settings, material.generation), ocspUrl: settings.ocspUrl },
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
        caGeneration: material.generation,
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
      const material = await ca(issued.profile, issued.caGeneration);
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
      // On the CRL of the CA generation that signed it, signed by that generation's key.
      const current = await store.currentCrl(revoked.profile, revoked.caGeneration);
      // A retry after the CRL was already re-signed changes nothing; one after a failed re-signing completes it.
      const listed = current ? crlLists(current.der, revoked.serial) : false;
      if (!listed) await refreshCrl(revoked.profile, await ca(revoked.profile, revoked.caGeneration), revoked.revokedAt!, true);
      return { revokedAt: revoked.revokedAt!, reason: revoked.revocationReason! };
    },

    async crl(profile, now, generation) {
      profileOf(profile);
      const key = `${profile}:${generation ?? 'current'}`;
      const held = heldCrls.get(key);
      if (held && !crlNeedsRefresh(held.crl, now)) {
        if (Date.now() - held.checkedAt < crlRecheckMs) return held.crl.der;
        // Another process may have revoked since: the database is the source of truth, its CRL number says.
        const version = await store.currentCrlVersion(profile, generation);
        if (version?.caGeneration === held.crl.caGeneration && version.crlNumber === held.crl.crlNumber) {
          held.checkedAt = Date.now();
          return held.crl.der;
        }
      }
      const signedBefore = crlsSigned;
      const read = await store.currentCrl(profile, generation);
      const current = read && !crlNeedsRefresh(read, now) ? read : await refreshCrl(profile, await ca(profile, generation), now, false);
      if (crlsSigned === signedBefore) heldCrls.set(key, { crl: current, checkedAt: Date.now() });
      return current.der;
    },

    async caCertificatePem(profile) {
      profileOf(profile);
      return (await ca(profile)).certificatePem;
    },

    async caGenerations(profile) {
      profileOf(profile);
      return (await generations(profile)).map(({ stored, lastNotAfter }, i) => ({
        generation: stored.generation,
        current: i === 0,
        certificatePem: stored.certificatePem,
        ...(lastNotAfter ? { lastNotAfter } : {}),
      }));
    },

    async caCertificatesPem(profile, now) {
      const live = (await this.caGenerations(profile)).filter((g) => g.current || (g.lastNotAfter !== undefined && g.lastNotAfter > now));
      return live.map((g) => g.certificatePem.trimEnd() + '\n').join('');
    },

    async rollover(profile, now) {
      const settings = profileOf(profile);
      const previous = await store.findCa(profile);
      if (!previous) throw notSetUp(profile);
      // The new generation's key is made where the profile's new CA keys are made now (the file or the token).
      const { ca: next, discard } = await generateCa(settings, caKeys.forNew(profile), now, previous.generation + 1);
      // The unique (profile, generation) decides between two rollovers started together: only one new CA.
      if (!(await store.insertCa(next))) {
        await discard();
        throw new PkiError('rolloverConflict', `CA ${profile}: generation ${next.generation} was created by another rollover just now`, 409);
      }
      generationLists.delete(profile);
      await refreshCrl(profile, await open(next), now, false);
      return { generation: next.generation, current: true, certificatePem: next.certificatePem };
    },

    async ocspResponse(profile, request, now) {
      const settings = profileOf(profile);
      const list = await generations(profile);
      const asked = readOcspRequest(profile, materialsOf(list), request);
      if (!asked) return OCSP_MALFORMED_REQUEST;
      const signer = await ocspSigner(profile, asked.materials.find((m) => m.generation === asked.generation)!, now);
      const answers = await Promise.all(
        asked.items.map(async ({ certId, serial }) => ({ certId, answer: await certIdStatus(profile, asked.generation, serial) })),
      );
      const sign = () =>
        signOcspResponse(signer, answers, { producedAt: now, nextUpdate: new Date(now.getTime() + settings.ocspResponseValidityMinutes * 60_000), nonce: asked.nonce });
      // A nonce makes every answer unique: nothing to reuse.
      if (asked.nonce) return sign();
      const key = [profile, signer.serial, ...asked.items.map(({ idKey }, i) => `${idKey}=${JSON.stringify(answers[i]!.answer)}`)].join('|');
      const reusable = ocspAnswers.get(key);
      if (reusable && reusable.until > now.getTime()) return reusable.der;
      const der = sign();
      remember(ocspAnswers, key, { der, until: now.getTime() + OCSP_REUSE_MS });
      return der;
    },

    async ocspSignerPem(profile, now) {
      profileOf(profile);
      return (await ocspSigner(profile, await ca(profile), now)).certificatePem;
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
        caGeneration: issued.caGeneration,
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
