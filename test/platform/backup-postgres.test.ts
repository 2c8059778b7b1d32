// README "Backups" on PostgreSQL: certflow's database dumped with pg_dump -Fc while in use and restored with
// pg_restore into a new database, where the audit chain verifies, the requests are as they were and the CA signs.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildProfiles, createCertificateAuthority, createPkiStore } from '../../engines/pki';
import { createDb, migrateToLatest, type Db } from '../../infra/db';
import { createStores, deriveAuditKey } from '../../stores';
import { findPostgresBinaries } from '../../worker/postgres-cluster';
import { createPostgresDatabase } from '../support/databases';
import { registerTestUser, reserveRequest } from '../support/lifecycle-harness';

const NOW = new Date('2026-11-25T01:00:00Z');
const PASSPHRASE = 'backup drill passphrase';

function authority(db: Db, dataKey: Buffer, caDir: string) {
  return createCertificateAuthority({ store: createPkiStore(db), caDir, caPassphrase: PASSPHRASE, dataKey, profiles: buildProfiles({ publicUrl: 'https://certflow.example.jp' }) });
}

const subject = (userId: string) => ({
  userId,
  organizationalUnits: ['div1'],
  organization: 'sampleCompany',
  country: 'JP',
  email: `${userId}@sampleCompany.com`,
  subscriberId: userId,
});

describe('backup and restore of certflow on PostgreSQL', () => {
  it('when the database is dumped with pg_dump and restored with pg_restore, then the audit chain verifies, the rows are back and the CA signs', async () => {
    const { pgDump } = findPostgresBinaries();
    const pgRestore = path.join(path.dirname(pgDump), 'pg_restore');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-pgbackup-'));
    const original = await createPostgresDatabase();
    const restored = await createPostgresDatabase();
    const dbA = createDb(original.settings);
    const dbB = createDb(restored.settings);
    try {
      const dataKey = crypto.randomBytes(32);
      const auditKey = deriveAuditKey(dataKey);
      await migrateToLatest(dbA);
      const storesA = createStores(dbA, { auditKey });
      const caA = authority(dbA, dataKey, path.join(dir, 'ca'));
      await caA.ensureCas(NOW);
      await registerTestUser(dbA, 'pgbackup01');
      const { requestId } = await reserveRequest(dbA, 'pgbackup01', 'new');
      const first = await caA.issue({ ...subject('pgbackup01'), requestId, profile: 'kdanshinnet', notBefore: NOW, notAfter: new Date('2029-11-25T01:00:00Z') });
      for (const action of ['registerUser', 'unlock', 'reissue']) {
        await storesA.audit.record({ agent: 'admin01', role: 'admin', action, target: 'user:pgbackup01', outcome: 'ok' }, NOW);
      }

      // pg_dump while the pool is open and in use, as on a running install.
      const dump = path.join(dir, 'certflow.dump');
      const appending = storesA.audit.record({ agent: 'admin01', role: 'admin', action: 'revoke', target: 'user:pgbackup01', outcome: 'ok' }, NOW);
      execFileSync(pgDump, ['-Fc', '--no-owner', '--dbname', original.settings.connection, '--file', dump], { stdio: ['ignore', 'pipe', 'pipe'] });
      await appending;
      execFileSync(pgRestore, ['--no-owner', '--exit-on-error', '--dbname', restored.settings.connection, dump], { stdio: ['ignore', 'pipe', 'pipe'] });

      // Started on the restored database with the same secrets: no migration left to run, the chain whole.
      await migrateToLatest(dbB);
      const storesB = createStores(dbB, { auditKey });
      const report = await storesB.audit.verify();
      expect(report).toMatchObject({ intact: true });
      expect([3, 4]).toContain(report.checked);
      expect(await storesB.requests.find(requestId)).toEqual(await storesA.requests.find(requestId));

      const caB = authority(dbB, dataKey, path.join(dir, 'no-legacy-ca'));
      expect(await caB.ensureCas(NOW)).toEqual({ created: [], imported: [] });
      expect(await caB.caCertificatePem('kdanshinnet')).toBe(await caA.caCertificatePem('kdanshinnet'));
      const again = await caB.issue({ ...subject('pgbackup01'), requestId, profile: 'kdanshinnet', notBefore: NOW, notAfter: new Date('2029-11-25T01:00:00Z') });
      expect(again).toMatchObject({ serial: first.serial, alreadyIssued: true });
      const { requestId: nextId } = await reserveRequest(dbB, 'pgbackup01', 'reissue');
      const next = await caB.issue({ ...subject('pgbackup01'), requestId: nextId, profile: 'kdanshinnet', notBefore: NOW, notAfter: new Date('2029-11-25T01:00:00Z') });
      const ca = new crypto.X509Certificate(await caA.caCertificatePem('kdanshinnet'));
      expect(new crypto.X509Certificate(next.certificatePem).verify(ca.publicKey)).toBe(true);
    } finally {
      await dbA.destroy();
      await dbB.destroy();
      await original.drop();
      await restored.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
