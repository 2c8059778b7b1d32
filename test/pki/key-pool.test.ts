// The key pool on every supported database: a pooled key is never handed out twice (concurrent retrievals from two
// processes, and after a restart), an issuance keeps the key it claimed, the pool never exceeds its size, an empty pool
// falls back to generating, and no key is ever in the database in clear.
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildProfiles, createCertificateAuthority, createKeyPool, createPkiStore, type KeyPool, type PkiStore } from '../../engines/pki';
import { startBackgroundKeyGenerator } from '../../engines/pki/background-keygen';
import type { KeyPair } from '../../engines/pki/key-generation';
import { sealPooledKey } from '../../engines/pki/sealed-key';
import { x509 } from '../../engines/pki/crypto-provider';
import { createDb, type Db } from '../../infra/db';
import { createMetrics } from '../../infra/metrics';
import { forEachDatabase, type TestDatabase } from '../support/databases';
import { counterValue } from '../support/metrics';
import { holdsAny, pkcs12Pieces, secretForms, sqliteBytes } from '../support/secrets';
import { CA_PASSPHRASE, NOW, subjectOf, THREE_YEARS_LATER } from './support';

const spki = (key: KeyObject) => crypto.createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('hex');
const pkcs8 = (key: KeyObject) => key.export({ format: 'der', type: 'pkcs8' });

/** Every byte the database holds for the key pool and the issued certificates: the SQLite file, or PostgreSQL's rows. */
async function storedBytes(database: TestDatabase): Promise<Buffer> {
  if (database.kind === 'sqlite') return sqliteBytes(database.settings.connection);
  const rows = [...(await database.db('key_pool')), ...(await database.db('issued_certificates'))];
  return Buffer.concat(rows.flatMap((row) => Object.values(row).map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v))))));
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const giveUp = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUp) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

forEachDatabase(
  'the key pool',
  (database) => {
    const dataKey = crypto.randomBytes(32);
    /** Other certflow processes: their own connection pools over the same database. */
    const others: Db[] = [];
    const pools: KeyPool[] = [];
    const anotherProcess = () => {
      const db = createDb(database.settings);
      others.push(db);
      return createPkiStore(db);
    };
    const poolOver = (store: PkiStore, size: number, algorithm: 'ecdsa-p256' | 'rsa-2048' = 'ecdsa-p256') => {
      const pool = createKeyPool({ store, dataKey, size, algorithms: [algorithm], refillIntervalMs: 100 });
      pools.push(pool);
      return pool;
    };
    afterEach(async () => {
      for (const pool of pools.splice(0)) await pool.stop();
      for (const db of others.splice(0)) await db.destroy();
    });

    test('when two processes refill at once and then claim concurrently, then the pool holds exactly its size and no key goes to two issuances', async () => {
      const store = createPkiStore(database.db);
      const otherStore = anotherProcess();
      const [a, b] = [poolOver(store, 6), poolOver(otherStore, 6)];
      const added = await Promise.all([a.refill(), b.refill()]);
      expect(added[0] + added[1]).toBe(6);
      expect(await store.countPooledKeys()).toEqual({ 'ecdsa-p256': 6 });
      expect(await a.refill()).toBe(0);

      // Ten issuances, each retrieved twice at once (a retried activity racing the first), once through each process.
      const issuances = Array.from({ length: 10 }, (_, i) => `20261125000${String(i).padStart(4, '0')}`);
      const claims = await Promise.all(issuances.flatMap((key) => [a, b].map(async (pool) => ({ key, got: await pool.claim('ecdsa-p256', key) }))));
      const byIssuance = new Map<string, Set<string>>();
      for (const { key, got } of claims) if (got) byIssuance.set(key, (byIssuance.get(key) ?? new Set()).add(spki(got.privateKey)));
      // Both retrievals of one issuance got the same key; six issuances got one each, all different; the rest generate.
      expect([...byIssuance.values()].every((keys) => keys.size === 1)).toBe(true);
      expect(byIssuance.size).toBe(6);
      expect(new Set([...byIssuance.values()].flatMap((keys) => [...keys])).size).toBe(6);
      expect(await store.countPooledKeys()).toEqual({});
      const rows = await database.db('key_pool').select('claimed_by');
      expect(rows.map((r) => r.claimed_by).sort()).toEqual([...byIssuance.keys()].sort());
      // A claim's public key is the pair of its private key.
      for (const { got } of claims.filter((c) => c.got)) expect(got!.publicKey.export({ format: 'der', type: 'spki' }).toString('hex')).toBe(spki(got!.privateKey));

      // Refilled after the claims: back to its size, never beyond.
      await Promise.all([a.refill(), b.refill(), a.refill()]);
      expect(await store.countPooledKeys()).toEqual({ 'ecdsa-p256': 6 });
    });

    test('when many keys are added at once from two processes, then the pool stops at its size exactly', async () => {
      const stores = [createPkiStore(database.db), anotherProcess()];
      const key = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => {
          const id = crypto.randomUUID();
          return stores[i % 2]!.addPooledKey({ id, keyAlgorithm: 'ecdsa-p256', sealedKey: sealPooledKey(dataKey, id, key), createdAt: new Date() }, 4);
        }),
      );
      expect(results.filter(Boolean)).toHaveLength(4);
      expect(await stores[1]!.countPooledKeys()).toEqual({ 'ecdsa-p256': 4 });
    });

    test('when the process that claimed a key restarts, then the key is still that issuance\'s and is never handed to another', async () => {
      const first = anotherProcess();
      await poolOver(first, 3).refill();
      const before = await poolOver(first, 3).claim('ecdsa-p256', '202611250010001');
      await others.pop()!.destroy(); // the process stops

      const restarted = poolOver(anotherProcess(), 3);
      const again = await restarted.claim('ecdsa-p256', '202611250010001');
      expect(spki(again!.privateKey)).toBe(spki(before!.privateKey));
      const later: Array<KeyPair | undefined> = [];
      for (const key of ['202611250010002', '202611250010003', '202611250010004']) later.push(await restarted.claim('ecdsa-p256', key));
      expect(later[2]).toBeUndefined(); // three keys, the first still the first issuance's
      const handedOut = [before!, later[0]!, later[1]!].map((k) => spki(k.privateKey));
      expect(new Set(handedOut).size).toBe(3);
    });

    test('when keys wait in the pool and are claimed, then neither the waiting nor the claimed keys are in the database in clear', async () => {
      const store = createPkiStore(database.db);
      await poolOver(store, 4).refill();
      const claimed = await Promise.all(['202611250020001', '202611250020002', '202611250020003', '202611250020004'].map((k) => poolOver(store, 4).claim('ecdsa-p256', k)));
      const keys = claimed.map((k) => pkcs8(k!.privateKey));
      expect((await database.db('key_pool')).length).toBe(4); // the claimed rows, still sealed
      const bytes = await storedBytes(database);
      for (const key of keys) expect(holdsAny(bytes, [...secretForms(key), ...pkcs12Pieces(key)])).toBe(false);
      // The check can fail: the same key stored in clear would be found.
      expect(holdsAny(Buffer.concat([bytes, keys[0]!]), secretForms(keys[0]!))).toBe(true);
    });

    test('when started, then the pool fills itself in the background and refills after a claim, up to its size', async () => {
      const store = createPkiStore(database.db);
      const pool = poolOver(store, 3);
      pool.start();
      await waitUntil(async () => (await store.countPooledKeys())['ecdsa-p256'] === 3);
      await pool.claim('ecdsa-p256', '202611250030001');
      await waitUntil(async () => (await store.countPooledKeys())['ecdsa-p256'] === 3);
      await new Promise((r) => setTimeout(r, 300)); // several refill intervals
      expect(await store.countPooledKeys()).toEqual({ 'ecdsa-p256': 3 });
      await pool.stop();
      const metrics = createMetrics({ pendingMails: async () => 0, crls: async () => [], pooledKeys: () => store.countPooledKeys() }, { defaultMetrics: false });
      expect(await metrics.registry.getSingleMetricAsString('certflow_key_pool_keys')).toContain('certflow_key_pool_keys{algorithm="ecdsa-p256"} 3');
    });

    describe('issuing with the pool', () => {
      let caDir: string;
      beforeAll(() => (caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-key-pool-'))));
      afterAll(() => fs.rmSync(caDir, { recursive: true, force: true }));

      test('when a signing fails after its key was claimed, then the retry signs with that key; the key leaves the pool with the certificate; an empty pool generates', async () => {
        const store = createPkiStore(database.db);
        let failNextInsert = true;
        const flaky: PkiStore = {
          ...store,
          insert: async (c) => {
            if (!failNextInsert) return store.insert(c);
            failNextInsert = false;
            throw new Error('database connection lost');
          },
        };
        const pool = poolOver(store, 2, 'rsa-2048');
        await pool.refill();
        const metrics = createMetrics({ pendingMails: async () => 0, crls: async () => [] }, { defaultMetrics: false });
        const ca = createCertificateAuthority({
          store: flaky,
          caDir,
          caPassphrase: CA_PASSPHRASE,
          dataKey,
          profiles: buildProfiles({ publicUrl: 'https://certflow.example.jp' }),
          metrics,
          keyPool: pool,
        });
        await ca.ensureCas(NOW);
        const issue = (requestId: string) => ca.issue({ requestId, ...subjectOf('emp201'), notBefore: NOW, notAfter: THREE_YEARS_LATER });
        const certificateKey = (pem: string) => Buffer.from(new x509.X509Certificate(pem).publicKey.rawData).toString('hex');

        await expect(issue('202611250040001')).rejects.toThrow('database connection lost');
        const claimedRow = await database.db('key_pool').where({ claimed_by: '202611250040001' }).first();
        expect(claimedRow).toBeDefined();
        const claimedKey = await pool.claim('rsa-2048', '202611250040001'); // what the retry will get
        const retried = await issue('202611250040001');
        expect(certificateKey(retried.certificatePem)).toBe(spki(claimedKey!.privateKey));
        expect(await database.db('key_pool').where({ claimed_by: '202611250040001' })).toEqual([]);
        expect(await store.countPooledKeys()).toEqual({ 'rsa-2048': 1 });

        const second = await issue('202611250040002');
        const third = await issue('202611250040003'); // the pool is empty now
        expect(await store.countPooledKeys()).toEqual({});
        expect(new Set([retried, second, third].map((c) => certificateKey(c.certificatePem))).size).toBe(3);
        expect(await counterValue(metrics.issuanceKeys, { algorithm: 'rsa-2048', source: 'pool' })).toBe(2);
        expect(await counterValue(metrics.issuanceKeys, { algorithm: 'rsa-2048', source: 'generated' })).toBe(1);
        // Each issued key is sealed under its issuance and opens into the PKCS#12 of its certificate.
        for (const requestId of ['202611250040001', '202611250040002', '202611250040003']) {
          expect((await ca.buildPkcs12(requestId, 'Osaka-2026!pass', { userId: 'emp201' })).length).toBeGreaterThan(1000);
        }
        expect((await issue('202611250040002')).alreadyIssued).toBe(true);
      });
    });
  },
  { per: 'test' },
);

describe('the key pool\'s generator thread', () => {
  test('when it generates keys, then they are valid key pairs of the algorithm, made at the lowest priority on Linux', async () => {
    const generator = startBackgroundKeyGenerator();
    try {
      const [rsa, ec] = await Promise.all([generator.generate('rsa-2048'), generator.generate('ecdsa-p256')]);
      expect(rsa.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048 });
      expect(ec.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
      if (process.platform === 'linux') expect(await generator.lowPriority).toBe(true);
    } finally {
      await generator.close();
    }
    await expect(generator.generate('ecdsa-p256')).rejects.toThrow(/stopped/);
  });
});
