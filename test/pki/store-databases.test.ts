// The PKI engine's database behaviour on every supported database: idempotent issuance, key custody, revocation and CRLs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import { BasicOCSPResponse, OCSPResponse } from '@peculiar/asn1-ocsp';
import { buildProfiles, CaUnavailableError, createCertificateAuthority, PkiError, type CertificateAuthority } from '../../engines/pki';
import { createPkiStore } from '../../engines/pki/store';
import { x509 } from '../../engines/pki/crypto-provider';
import { createDb, type Db } from '../../infra/db';
import { createMetrics } from '../../infra/metrics';
import { PROFILES, type Profile } from '../../workflows/definitions';
import { counterValue } from '../support/metrics';
import { expectUniqueViolation, forEachDatabase } from '../support/databases';
import { CA_PASSPHRASE, NOW, run, subjectOf, THREE_YEARS_LATER, write } from './support';

const PASSWORD = 'Osaka-2026!pass';
const DAY_MS = 86_400_000;
// The folder earlier versions kept CAs in; empty here, so each database makes its own CAs.
let caDir: string;

beforeAll(() => {
  caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-pki-databases-'));
});

afterAll(() => {
  fs.rmSync(caDir, { recursive: true, force: true });
});

const rowCount = async (db: Db, where: Record<string, string>) => Number((await db('issued_certificates').where(where).count({ n: '*' }))[0].n);

const X509Crl = x509.X509Crl;

/** Runs `work` and returns the SQL it sent to `db` alongside its result. */
async function queriesDuring<T>(db: Db, work: () => Promise<T>): Promise<{ result: T; queries: string[] }> {
  const queries: string[] = [];
  const record = (q: { sql: string }) => queries.push(q.sql);
  db.on('query', record);
  try {
    return { result: await work(), queries };
  } finally {
    db.off('query', record);
  }
}

function crlNumberOf(der: Buffer): number {
  const extension = new X509Crl(der).extensions.find((e) => e.type === id_ce_cRLNumber)!;
  return Number(AsnConvert.parse(extension.value, CRLNumber).value);
}

forEachDatabase('the PKI engine', (database) => {
  let ca: CertificateAuthority;
  let sequence = 0;
  const nextRequestId = () => `20261125${String(++sequence).padStart(7, '0')}`;
  const issueFor = (userId: string, requestId = nextRequestId()) =>
    ca.issue({ requestId, ...subjectOf(userId), notBefore: NOW, notAfter: THREE_YEARS_LATER });

  beforeAll(async () => {
    ca = createCertificateAuthority({
      store: createPkiStore(database.db),
      caDir,
      caPassphrase: CA_PASSPHRASE,
      dataKey: crypto.randomBytes(32),
      profiles: buildProfiles({ publicUrl: 'https://certflow.example.jp' }),
    });
    await ca.ensureCas(NOW);
  });

  test('when the same issuance key is issued twice, then one row stands and the second call returns it with its dates', async () => {
    const requestId = nextRequestId();
    const first = await issueFor('emp101', requestId);
    const second = await issueFor('emp101', requestId);
    expect(second).toEqual({ ...first, alreadyIssued: true });
    expect(await rowCount(database.db, { request_id: requestId })).toBe(1);
    expect(await ca.status(first.serial)).toMatchObject({ status: 'good', requestId, notBefore: first.notBefore, notAfter: first.notAfter });
  });

  test('when the same issuance key is issued concurrently, then one certificate is stored and every caller gets it', async () => {
    const requestId = nextRequestId();
    const results = await Promise.all(Array.from({ length: 4 }, () => issueFor('emp102', requestId)));
    expect(new Set(results.map((r) => r.serial)).size).toBe(1);
    expect(results.filter((r) => !r.alreadyIssued)).toHaveLength(1);
    expect(await rowCount(database.db, { request_id: requestId })).toBe(1);
  });

  test('when a second row with a taken issuance key is inserted, then the database refuses it and the store reports a lost race', async () => {
    const issued = await issueFor('emp103');
    const store = createPkiStore(database.db);
    const stored = (await store.findBySerial(issued.serial))!;
    const row = await database.db('issued_certificates').where({ serial: issued.serial }).first();
    await expectUniqueViolation(database.db('issued_certificates').insert({ ...row, serial: 'ab'.repeat(16) }));
    expect(await store.insert({ ...stored, serial: 'cd'.repeat(16) })).toBe(false);
    expect(await store.insert({ ...stored, issuanceKey: `${stored.issuanceKey}.9` })).toBe(false); // same serial
  });

  test("when a user's certificates are listed, then one query returns all of theirs under that profile, newest notBefore first", async () => {
    const store = createPkiStore(database.db);
    const issueAt = (userId: string, days: number, profile: 'kdanshinnet' | 'nissay' = 'kdanshinnet') =>
      ca.issue({ requestId: nextRequestId(), ...subjectOf(userId, profile), notBefore: new Date(NOW.getTime() + days * DAY_MS), notAfter: THREE_YEARS_LATER });
    // Issued out of date order, with a neighbour in the same profile and the same user in the other profile.
    const middle = await issueAt('emp109', 1);
    const oldest = await issueAt('emp109', 0);
    const newest = await issueAt('emp109', 2);
    await issueAt('emp110', 3);
    const otherProfile = await issueAt('emp109', 4, 'nissay');
    const revokedAt = new Date(NOW.getTime() + 5 * DAY_MS);
    await ca.revoke({ serial: oldest.serial, reason: 'superseded', revokedAt });
    await ca.destroyKey((await store.findBySerial(middle.serial))!.issuanceKey);

    const listing = await queriesDuring(database.db, () => store.listByUser('kdanshinnet', 'emp109'));
    expect(listing.queries).toHaveLength(1);
    const listed = listing.result;
    expect(listed.map((c) => c.serial)).toEqual([newest.serial, middle.serial, oldest.serial]);
    expect(listed).toEqual(await Promise.all([newest, middle, oldest].map(async (c) => (await store.findBySerial(c.serial))!)));
    expect(listed.map((c) => c.notBefore)).toEqual([newest.notBefore, middle.notBefore, oldest.notBefore]);
    expect(listed.every((c) => c.profile === 'kdanshinnet' && c.userId === 'emp109' && c.notBefore instanceof Date)).toBe(true);
    expect(listed.map((c) => c.sealedKey !== null)).toEqual([true, false, false]);
    expect(listed.map((c) => c.revokedAt)).toEqual([null, null, revokedAt]);
    expect(listed[2].revocationReason).toBe('superseded');

    expect((await store.listByUser('nissay', 'emp109')).map((c) => c.serial)).toEqual([otherProfile.serial]);
    expect(await store.listByUser('kdanshinnet', 'nobody')).toEqual([]);
    const ofUser = await queriesDuring(database.db, () => ca.certificatesOf('kdanshinnet', 'emp109'));
    expect(ofUser.queries).toHaveLength(1);
    expect(ofUser.result).toEqual(listed.map(({ sealedKey, ...rest }) => ({ ...rest, keyAvailable: sealedKey !== null })));
  });

  test('when the sealed key is read back, then it opens into a PKCS#12; once destroyed (twice), the request gets a 410', async () => {
    const requestId = nextRequestId();
    await issueFor('emp104', requestId);
    const row = await database.db('issued_certificates').where({ request_id: requestId }).first();
    expect(Buffer.isBuffer(row.encrypted_private_key)).toBe(true);
    expect((await ca.buildPkcs12(requestId, PASSWORD, { userId: 'emp104' })).length).toBeGreaterThan(1000);
    await ca.destroyKey(requestId);
    await ca.destroyKey(requestId);
    const error = await ca.buildPkcs12(requestId, PASSWORD, { userId: 'emp104' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PkiError);
    expect(error).toMatchObject({ code: 'keyDestroyed', status: 410 });
    expect(await database.db('issued_certificates').where({ request_id: requestId }).first()).toMatchObject({ encrypted_private_key: null, private_key_nonce: null });
  });

  test('when certificates are revoked, one of them twice, then each revocation re-signs the CRL with the next number and the retry changes nothing', async () => {
    const store = createPkiStore(database.db);
    const before = (await store.currentCrl('kdanshinnet'))!;
    expect(typeof before.crlNumber).toBe('number');
    const issued = await issueFor('emp105');
    const revokedAt = new Date(NOW.getTime() + 60_000);
    expect(await ca.revoke({ serial: issued.serial, reason: 'superseded', revokedAt })).toEqual({ revokedAt, reason: 'superseded' });
    const afterFirst = (await store.currentCrl('kdanshinnet'))!;
    expect(afterFirst.crlNumber).toBe(before.crlNumber + 1);
    expect(crlNumberOf(afterFirst.der)).toBe(afterFirst.crlNumber);
    expect(new X509Crl(afterFirst.der).findRevoked(issued.serial)?.revocationDate).toEqual(revokedAt);

    expect(await ca.revoke({ serial: issued.serial, reason: 'keyCompromise', revokedAt: new Date(NOW.getTime() + 120_000) })).toEqual({ revokedAt, reason: 'superseded' });
    expect((await store.currentCrl('kdanshinnet'))!.crlNumber).toBe(afterFirst.crlNumber);

    const others = await Promise.all(['emp106', 'emp107', 'emp108'].map((u) => issueFor(u)));
    await Promise.all(others.map((o, i) => ca.revoke({ serial: o.serial, reason: 'unspecified', revokedAt: new Date(NOW.getTime() + 180_000 + i * 1000) })));
    const latest = (await store.currentCrl('kdanshinnet'))!;
    expect(latest.crlNumber).toBeGreaterThan(afterFirst.crlNumber);
    expect(crlNumberOf(latest.der)).toBe(latest.crlNumber);
    for (const serial of [issued.serial, ...others.map((o) => o.serial)]) expect(new X509Crl(latest.der).findRevoked(serial)).not.toBeNull();
  });

  test('when certificates are signed, re-read, raced and revoked twice, then the metrics count each new signing and each new revocation once', async () => {
    const metrics = createMetrics({ pendingMails: async () => 0, crls: async () => [] }, { defaultMetrics: false });
    const counted = createCertificateAuthority({
      store: createPkiStore(database.db),
      caDir,
      caPassphrase: CA_PASSPHRASE,
      dataKey: crypto.randomBytes(32),
      profiles: buildProfiles({ publicUrl: 'https://certflow.example.jp' }),
      metrics,
    });
    const issue = (userId: string, requestId: string) => counted.issue({ requestId, ...subjectOf(userId), notBefore: NOW, notAfter: THREE_YEARS_LATER });
    const raced = nextRequestId();
    await Promise.all(Array.from({ length: 3 }, () => issue('emp111', raced)));
    const singleId = nextRequestId();
    const single = await issue('emp112', singleId);
    expect((await issue('emp112', singleId)).alreadyIssued).toBe(true);
    expect(await counterValue(metrics.certificatesIssued, { profile: 'kdanshinnet' })).toBe(2);
    expect(await counterValue(metrics.certificatesIssued, { profile: 'nissay' })).toBe(0);

    const revokedAt = new Date(NOW.getTime() + 60_000);
    await counted.revoke({ serial: single.serial, reason: 'keyCompromise', revokedAt });
    await counted.revoke({ serial: single.serial, reason: 'keyCompromise', revokedAt });
    await counted.revoke({ serial: single.serial, reason: 'superseded', revokedAt });
    expect(await counterValue(metrics.certificatesRevoked, { profile: 'kdanshinnet', reason: 'keyCompromise' })).toBe(1);
    expect(await counterValue(metrics.certificatesRevoked, { profile: 'kdanshinnet', reason: 'superseded' })).toBe(0);
  });

  test('when processes renew the OCSP signer together and another revokes, then one signer stands and the next answer is revoked', async () => {
    const authority = () =>
      createCertificateAuthority({
        store: createPkiStore(database.db),
        caDir,
        caPassphrase: CA_PASSPHRASE,
        dataKey: crypto.randomBytes(32),
        profiles: buildProfiles({ publicUrl: 'https://certflow.example.jp' }),
      });
    const first = new x509.X509Certificate(await ca.ocspSignerPem('kdanshinnet', NOW));
    const later = new Date(first.notBefore.getTime() + 0.6 * (first.notAfter.getTime() - first.notBefore.getTime()));
    const others = [authority(), authority()];
    const renewed = await Promise.all([ca, ...others].map((a) => a.ocspSignerPem('kdanshinnet', later)));
    expect(new Set(renewed).size).toBe(1);
    expect(renewed[0]).not.toBe(first.toString('pem'));
    const rows = await database.db('ocsp_responders').where({ profile: 'kdanshinnet' });
    expect(rows.map((r) => r.certificate_pem)).toEqual([renewed[0]]);
    expect((await createPkiStore(database.db).findOcspResponder('kdanshinnet'))!.notAfter).toBeInstanceOf(Date);

    const issued = await issueFor('emp113');
    const made = await run('openssl', [
      'ocsp', '-no_nonce', '-reqout', `${caDir}/${database.kind}-req.der`,
      '-issuer', write(caDir, `${database.kind}-ocsp-ca.pem`, await ca.caCertificatePem('kdanshinnet')),
      '-cert', write(caDir, `${database.kind}-ocsp-leaf.pem`, issued.certificatePem),
    ]);
    expect(made.code).toBe(0);
    const request = fs.readFileSync(`${caDir}/${database.kind}-req.der`);
    const statusIn = (der: Buffer) => {
      const basic = AsnConvert.parse(AsnConvert.parse(der, OCSPResponse).responseBytes!.response.buffer, BasicOCSPResponse);
      return Object.keys(basic.tbsResponseData.responses[0].certStatus).find((k) => (basic.tbsResponseData.responses[0].certStatus as never)[k] !== undefined);
    };
    expect(statusIn(await ca.ocspResponse('kdanshinnet', request, later))).toBe('good');
    await others[0].revoke({ serial: issued.serial, reason: 'keyCompromise', revokedAt: later });
    expect(statusIn(await ca.ocspResponse('kdanshinnet', request, later))).toBe('revoked');
  });

  test('when the CRL is asked for past half its validity, then it is re-signed with the next number and its dates read back as Dates', async () => {
    const store = createPkiStore(database.db);
    const current = (await store.currentCrl('nissay'))!;
    expect(current.thisUpdate).toBeInstanceOf(Date);
    const later = new Date(current.thisUpdate.getTime() + 4 * DAY_MS);
    const refreshed = await ca.crl('nissay', later);
    expect(crlNumberOf(refreshed)).toBe(current.crlNumber + 1);
    expect(await store.currentCrl('nissay')).toEqual({
      profile: 'nissay',
      caGeneration: 1,
      crlNumber: current.crlNumber + 1,
      thisUpdate: later,
      nextUpdate: new Date(later.getTime() + 7 * DAY_MS),
      der: refreshed,
    });
  });

  test('when the first CRL of a CA is asked for by several callers at once, then one is created and all get it', async () => {
    // As on a database whose CA was just imported: no CRL row yet.
    await database.db('certificate_revocation_lists').where({ profile: 'nissay' }).delete();
    const when = new Date(NOW.getTime() + 30 * DAY_MS);
    const crls = await Promise.all(Array.from({ length: 5 }, () => ca.crl('nissay', when)));
    expect(crls.every((der) => der.equals(crls[0]))).toBe(true);
    expect(crlNumberOf(crls[0])).toBe(1);
    const rows = await database.db('certificate_revocation_lists').where({ profile: 'nissay' });
    expect(rows).toHaveLength(1);
    expect(Number(rows[0].crl_number)).toBe(1);
  });

  test('when the CRL is served again, then it comes from memory; a revocation here replaces it at once, one by another process at the next check', async () => {
    const otherDb = createDb(database.settings);
    try {
      const authority = (db: Db, crlRecheckMs: number) =>
        createCertificateAuthority({ store: createPkiStore(db), caDir, caPassphrase: CA_PASSPHRASE, dataKey: crypto.randomBytes(32), profiles: buildProfiles({ publicUrl: 'https://certflow.example.jp' }), crlRecheckMs });
      const listed = (der: Buffer, serial: string) => new X509Crl(der).findRevoked(serial) !== null;
      const at = (await createPkiStore(database.db).currentCrl('kdanshinnet'))!.thisUpdate;
      const holding = authority(database.db, 3_600_000);
      const polling = authority(database.db, 0);
      const otherProcess = authority(otherDb, 0);

      const first = await holding.crl('kdanshinnet', at);
      const again = await queriesDuring(database.db, () => holding.crl('kdanshinnet', at));
      expect(again.queries).toEqual([]);
      expect(again.result.equals(first)).toBe(true);

      const mine = await issueFor('emp130');
      await holding.revoke({ serial: mine.serial, reason: 'keyCompromise', revokedAt: at });
      expect(listed(await holding.crl('kdanshinnet', at), mine.serial)).toBe(true);

      // Asked every time (recheck 0): one small query while nothing changed, the DER not read again.
      expect(listed(await polling.crl('kdanshinnet', at), mine.serial)).toBe(true);
      const unchanged = await queriesDuring(database.db, () => polling.crl('kdanshinnet', at));
      expect(unchanged.queries).toHaveLength(1);
      expect(unchanged.queries[0]).not.toMatch(/crl_der|\*/);

      const theirs = await issueFor('emp131');
      await otherProcess.revoke({ serial: theirs.serial, reason: 'superseded', revokedAt: at });
      const seen = await polling.crl('kdanshinnet', at);
      expect([listed(seen, mine.serial), listed(seen, theirs.serial)]).toEqual([true, true]);
      expect(seen.equals((await createPkiStore(database.db).currentCrl('kdanshinnet'))!.der)).toBe(true);
      // Until its next check (an hour here, a second by default) the holding process still serves what it signed.
      expect(listed(await holding.crl('kdanshinnet', at), theirs.serial)).toBe(false);
    } finally {
      await otherDb.destroy();
    }
  });

  test('when a CA has revoked thousands of certificates, then each revocation re-signs a CRL listing them all that openssl verifies, and a retry changes nothing', async () => {
    // 2,000 entries: beyond the ~1,400 that @peculiar/x509's CRL parser takes (asn1js's 10,000 ASN.1 nodes).
    const store = createPkiStore(database.db);
    // The rows need a certificate's fields only: the CRL reads serial, date and reason.
    const template = (await store.findBySerial((await issueFor('emp140')).serial))!;
    const revokedAt = new Date(NOW.getTime() + DAY_MS);
    for (let k = 0; k < 1998; k++) {
      const serial = crypto.randomBytes(16);
      serial[0] = 0x40 | (serial[0]! & 0x3f);
      await store.insert({ ...template, profile: 'nissay', serial: serial.toString('hex'), issuanceKey: `bulk-${k}`, requestId: `bulk-${k}`, sealedKey: null, revokedAt, revocationReason: 'keyCompromise' });
    }
    const issue = (userId: string) => ca.issue({ requestId: nextRequestId(), ...subjectOf(userId, 'nissay'), notBefore: NOW, notAfter: THREE_YEARS_LATER });
    const [a, b] = [await issue('emp143'), await issue('emp144')];
    await ca.revoke({ serial: a.serial, reason: 'superseded', revokedAt });
    await ca.revoke({ serial: b.serial, reason: 'unspecified', revokedAt });
    const signed = (await store.currentCrl('nissay'))!;
    await ca.revoke({ serial: b.serial, reason: 'keyCompromise', revokedAt });
    expect((await store.currentCrl('nissay'))!.crlNumber).toBe(signed.crlNumber);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-big-crl-'));
    try {
      const crlFile = write(dir, 'nissay.crl', signed.der);
      const caFile = write(dir, 'ca.pem', await ca.caCertificatePem('nissay'));
      const verified = await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', caFile, '-noout', '-verify', '-crlnumber']);
      expect(`${verified.stdout}${verified.stderr}`).toMatch(/verify OK/);
      const text = (await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text'])).stdout;
      const listed = [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!.toLowerCase());
      const bulk = await database.db('issued_certificates').where({ profile: 'nissay' }).whereNotNull('revoked_at').pluck('serial');
      expect(new Set(listed)).toEqual(new Set(bulk));
      expect(listed).toEqual(expect.arrayContaining([a.serial, b.serial]));
      expect(listed.length).toBeGreaterThanOrEqual(2000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

forEachDatabase(
  'the CAs shared by every process',
  (database) => {
    const profiles = buildProfiles({ publicUrl: 'https://certflow.example.jp' });
    /** What another certflow process has: its own connection pool over the same database. */
    const otherProcesses: Db[] = [];
    const anotherProcess = () => {
      const db = createDb(database.settings);
      otherProcesses.push(db);
      return db;
    };
    afterEach(async () => {
      for (const db of otherProcesses.splice(0)) await db.destroy();
    });
    const authorityOver = (db: Db, dir = caDir, passphrase = CA_PASSPHRASE) =>
      createCertificateAuthority({ store: createPkiStore(db), caDir: dir, caPassphrase: passphrase, dataKey: crypto.randomBytes(32), profiles });

    test('when two processes set up the CAs at once on a new database, then each profile has one CA, the same for both, with one CRL', async () => {
      const first = authorityOver(database.db);
      const second = authorityOver(anotherProcess());
      const inserts: string[] = [];
      database.db.on('query', (q: { sql: string }) => /insert into .certificate_authorities/.test(q.sql) && inserts.push('first'));
      otherProcesses[0]!.on('query', (q: { sql: string }) => /insert into .certificate_authorities/.test(q.sql) && inserts.push('second'));
      const [a, b] = await Promise.all([first.ensureCas(NOW), second.ensureCas(NOW)]);

      expect([...a.created, ...b.created].sort()).toEqual([...PROFILES].sort());
      expect([...a.imported, ...b.imported]).toEqual([]);
      expect(await database.db('certificate_authorities').count({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(PROFILES.length);
      for (const profile of PROFILES) {
        const pem = await first.caCertificatePem(profile);
        expect(await second.caCertificatePem(profile)).toBe(pem);
        expect((await createPkiStore(database.db).findCa(profile))!.certificatePem).toBe(pem);
        // What one signs, the other's CA certificate verifies: one CA, not two with the same name.
        const issued = await second.issue({ requestId: `2026112500${PROFILES.indexOf(profile) + 1}0001`, ...subjectOf('emp501', profile), notBefore: NOW, notAfter: THREE_YEARS_LATER });
        const caFile = write(caDir, `${database.kind}-${profile}-ca.pem`, pem);
        const leafFile = write(caDir, `${database.kind}-${profile}-leaf.pem`, issued.certificatePem);
        expect((await run('openssl', ['verify', '-CAfile', caFile, leafFile])).stdout).toContain(': OK');
        const crls = await database.db('certificate_revocation_lists').where({ profile });
        expect(crls.map((r) => Number(r.crl_number))).toEqual([1]);
      }
      // Both really raced: each tried to store its own CA at least once, and the unique profile kept one.
      expect(new Set(inserts)).toEqual(new Set(['first', 'second']));
    });

    test('when a process read "no CA" just before another stored one, then its own CA is dropped and it uses the stored one', async () => {
      const winner = authorityOver(database.db);
      await winner.ensureCas(NOW);
      const late = createPkiStore(anotherProcess());
      const missedOnce = new Set<string>();
      const racing = createCertificateAuthority({
        store: { ...late, findCa: async (profile) => (missedOnce.has(profile) ? late.findCa(profile) : (missedOnce.add(profile), undefined)) },
        caDir,
        caPassphrase: CA_PASSPHRASE,
        dataKey: crypto.randomBytes(32),
        profiles,
      });
      expect(await racing.ensureCas(NOW)).toEqual({ created: [], imported: [] });
      for (const profile of PROFILES) expect(await racing.caCertificatePem(profile)).toBe(await winner.caCertificatePem(profile));
    });

    test('when the data dir holds the CA files of an earlier version, then that CA is imported as it is and used, and the files are not read again', async () => {
      const legacyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-legacy-ca-'));
      try {
        const files = await legacyCaFiles(legacyDir, 'kdanshinnet');
        // A wrong passphrase stores nothing: the files stay the only copy until the right one is given.
        await expect(authorityOver(database.db, legacyDir, 'not the passphrase at all').ensureCas(NOW)).rejects.toThrow(CaUnavailableError);
        expect(await createPkiStore(database.db).findCa('kdanshinnet')).toBeUndefined();

        const authority = authorityOver(database.db, legacyDir);
        expect(await authority.ensureCas(NOW)).toEqual({ created: ['nissay', 'operators'], imported: ['kdanshinnet'] });
        const stored = (await createPkiStore(database.db).findCa('kdanshinnet'))!;
        expect(stored.certificatePem).toBe(files.certificatePem);
        expect(stored.encryptedKeyPem).toBe(files.keyPem);
        expect(await authority.caCertificatePem('kdanshinnet')).toBe(files.certificatePem);
        const issued = await authority.issue({ requestId: '202611250030001', ...subjectOf('emp502'), notBefore: NOW, notAfter: THREE_YEARS_LATER });
        const leafFile = write(legacyDir, 'leaf.pem', issued.certificatePem);
        expect((await run('openssl', ['verify', '-CAfile', path.join(legacyDir, 'kdanshinnet', 'ca-cert.pem'), leafFile])).stdout).toContain(': OK');

        // Another process with another (empty) data dir uses the same CA: it is in the database now.
        fs.rmSync(path.join(legacyDir, 'kdanshinnet'), { recursive: true });
        const elsewhere = authorityOver(anotherProcess(), path.join(legacyDir, 'elsewhere'));
        expect(await elsewhere.ensureCas(NOW)).toEqual({ created: [], imported: [] });
        expect(await elsewhere.caCertificatePem('kdanshinnet')).toBe(files.certificatePem);
      } finally {
        fs.rmSync(legacyDir, { recursive: true, force: true });
      }
    });
  },
  { per: 'test' },
);

/** A CA as versions before the database left it, made by openssl: `<dir>/<profile>/ca-key.pem` (encrypted PKCS#8) and ca-cert.pem. */
async function legacyCaFiles(dir: string, profile: Profile): Promise<{ certificatePem: string; keyPem: string }> {
  const settings = buildProfiles({ publicUrl: 'https://certflow.example.jp' })[profile];
  const folder = path.join(dir, profile);
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
  const made = await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-sha256', '-days', '7300',
    '-keyout', path.join(folder, 'ca-key.pem'), '-passout', `pass:${CA_PASSPHRASE}`, '-out', path.join(folder, 'ca-cert.pem'),
    '-subj', `/C=${settings.caCountry}/O=${settings.caOrganization}/CN=${settings.caCommonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  expect(made.stderr).not.toMatch(/error/i);
  const keyPem = fs.readFileSync(path.join(folder, 'ca-key.pem'), 'utf8');
  expect(keyPem).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
  return { certificatePem: fs.readFileSync(path.join(folder, 'ca-cert.pem'), 'utf8'), keyPem };
}
