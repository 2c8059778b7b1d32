// The PKI engine's database behaviour on every supported database: idempotent issuance, key custody, revocation and CRLs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import { buildProfiles, createCertificateAuthority, PkiError, type CertificateAuthority } from '../../engines/pki';
import { createPkiStore } from '../../engines/pki/store';
import { x509 } from '../../engines/pki/crypto-provider';
import type { Db } from '../../infra/db';
import { createMetrics } from '../../infra/metrics';
import { counterValue } from '../support/metrics';
import { expectUniqueViolation, forEachDatabase } from '../support/databases';
import { CA_PASSPHRASE, NOW, subjectOf, THREE_YEARS_LATER } from './support';

const PASSWORD = 'Osaka-2026!pass';
const DAY_MS = 86_400_000;
// One CA folder for both databases: the keys are made once, each database gets its own certificates and CRLs.
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

  test('when the CRL is asked for past half its validity, then it is re-signed with the next number and its dates read back as Dates', async () => {
    const store = createPkiStore(database.db);
    const current = (await store.currentCrl('nissay'))!;
    expect(current.thisUpdate).toBeInstanceOf(Date);
    const later = new Date(current.thisUpdate.getTime() + 4 * DAY_MS);
    const refreshed = await ca.crl('nissay', later);
    expect(crlNumberOf(refreshed)).toBe(current.crlNumber + 1);
    expect(await store.currentCrl('nissay')).toEqual({
      profile: 'nissay',
      crlNumber: current.crlNumber + 1,
      thisUpdate: later,
      nextUpdate: new Date(later.getTime() + 7 * DAY_MS),
      der: refreshed,
    });
  });

  test('when the first CRL of a CA is asked for by several callers at once, then one is created and all get it', async () => {
    // As on a new database whose CA exists on disk: no CRL row yet.
    await database.db('certificate_revocation_lists').where({ profile: 'nissay' }).delete();
    const when = new Date(NOW.getTime() + 30 * DAY_MS);
    const crls = await Promise.all(Array.from({ length: 5 }, () => ca.crl('nissay', when)));
    expect(crls.every((der) => der.equals(crls[0]))).toBe(true);
    expect(crlNumberOf(crls[0])).toBe(1);
    const rows = await database.db('certificate_revocation_lists').where({ profile: 'nissay' });
    expect(rows).toHaveLength(1);
    expect(Number(rows[0].crl_number)).toBe(1);
  });
});
