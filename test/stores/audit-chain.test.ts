// The tamper-evident audit trail on every supported database: a clean chain verifies; an edited, removed or inserted
// row is found and named; appends from two connections at once keep one chain; migration 011 chains existing rows.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { migrateToLatest } from '../../infra/db';
import { migrationSource } from '../../migrations';
import { AUDIT_GENESIS, chainUnchainedAuditRows, createAuditStore, type AuditEvent, type AuditStore } from '../../stores/audit';
import { forEachDatabase } from '../support/databases';

const event = (n: number): AuditEvent => ({
  agent: `agent${n % 3}`,
  role: n % 2 ? 'admin' : 'support',
  action: n % 2 ? 'reissue' : 'unlock',
  target: `user:emp${String(n).padStart(3, '0')}`,
  outcome: 'ok',
  detail: n % 4 ? { requestId: `2026112500000${String(n).padStart(2, '0')}` } : undefined,
});
const at = (n: number) => new Date(Date.UTC(2026, 10, 25, 1, 0, n, 123));

forEachDatabase(
  'the audit chain',
  (database) => {
    const key = crypto.randomBytes(32);
    let audit: AuditStore;
    /** The rows' IDs in order, after recording `count` events. */
    async function recorded(count: number): Promise<number[]> {
      audit = createAuditStore(database.db, key);
      for (let n = 1; n <= count; n++) await audit.record(event(n), at(n));
      return (await database.db('audit_events').orderBy('id').select('id')).map((r: { id: number | string }) => Number(r.id));
    }

    test('when events are recorded, then every row links to the one before and verify finds the chain intact to its head', async () => {
      const ids = await recorded(5);
      const rows = await database.db('audit_events').orderBy('id');
      expect(rows[0].prev_hash).toBe(AUDIT_GENESIS);
      for (let i = 1; i < rows.length; i++) expect(rows[i].prev_hash).toBe(rows[i - 1].hash);
      expect(await audit.verify()).toEqual({ intact: true, checked: 5, head: { id: ids[4], hash: rows[4].hash } });
    });

    test('when the trail is empty, then it verifies with nothing checked', async () => {
      expect(await createAuditStore(database.db, key).verify()).toEqual({ intact: true, checked: 0 });
    });

    test('when a row is edited in the database, then verify names that row', async () => {
      const ids = await recorded(5);
      await database.db('audit_events').where({ id: ids[2] }).update({ outcome: 'rejected' });
      expect(await audit.verify()).toEqual({
        intact: false,
        checked: 3,
        head: expect.objectContaining({ id: ids[4] }),
        firstBroken: { id: ids[2], problem: expect.stringMatching(/do not match its hash: it was edited/) },
      });
    });

    test('when a row is edited and its hash recomputed without the key, then verify still names it', async () => {
      const ids = await recorded(3);
      const row = await database.db('audit_events').where({ id: ids[1] }).first();
      await database.db('audit_events').where({ id: ids[1] }).update({ detail: '{}', hash: crypto.createHash('sha256').update(`${row.prev_hash}{}`).digest('hex') });
      expect((await audit.verify()).firstBroken?.id).toBe(ids[1]);
    });

    test('when a row is deleted, then verify names the row after the gap', async () => {
      const ids = await recorded(5);
      await database.db('audit_events').where({ id: ids[1] }).delete();
      expect(await audit.verify()).toMatchObject({
        intact: false,
        firstBroken: { id: ids[2], problem: `the row does not follow row ${ids[0]}: a row before it was removed, or this one was inserted or moved` },
      });
    });

    test('when the first row is deleted, then verify names the new first row', async () => {
      const ids = await recorded(3);
      await database.db('audit_events').where({ id: ids[0] }).delete();
      expect((await audit.verify()).firstBroken).toEqual({ id: ids[1], problem: expect.stringMatching(/does not follow the start of the trail/) });
    });

    test('when the last rows are deleted and the head set back to the row before them, then verify finds the head forged', async () => {
      const ids = await recorded(4);
      const third = await database.db('audit_events').where({ id: ids[2] }).first();
      await database.db('audit_events').where('id', '>', ids[2]).delete();
      expect((await audit.verify()).firstBroken).toEqual({ id: ids[3], problem: expect.stringMatching(/head records row .* but the trail ends at row/) });
      await database.db('audit_chain_head').update({ last_id: ids[2], last_hash: third.hash });
      expect((await audit.verify()).firstBroken).toEqual({ id: ids[2], problem: expect.stringMatching(/head was rewritten without the key/) });
    });

    test('when a row is inserted, with or without a hash, then verify names the inserted row', async () => {
      const ids = await recorded(3);
      const last = await database.db('audit_events').where({ id: ids[2] }).first();
      const forged = { at: at(9), agent: 'intruder', role: 'admin', action: 'revoke', target: 'user:emp999', outcome: 'ok', detail: null };
      // Given the last row's hash as its previous one and a hash made up: the HMAC needs the key.
      const [withHash] = await database.db('audit_events').insert({ ...forged, prev_hash: last.hash, hash: 'f'.repeat(64) }).returning('id');
      const insertedId = Number(typeof withHash === 'object' ? withHash.id : withHash);
      expect((await audit.verify()).firstBroken).toEqual({ id: insertedId, problem: expect.stringMatching(/do not match its hash/) });

      await database.db('audit_events').where({ id: insertedId }).update({ hash: null });
      expect((await audit.verify()).firstBroken).toEqual({ id: insertedId, problem: expect.stringMatching(/carries no hash/) });
    });

    test('when verified with another key, then the first row is already broken', async () => {
      const ids = await recorded(2);
      expect((await createAuditStore(database.db, crypto.randomBytes(32)).verify()).firstBroken?.id).toBe(ids[0]);
    });

    test('when two processes append at once, then they keep one chain', async () => {
      const writer = (agent: string) => {
        const args = ['--import', 'tsx', 'test/support/audit-writer.ts', JSON.stringify(database.settings), key.toString('hex'), '25', agent];
        const child = spawn(process.execPath, args, { cwd: path.resolve(__dirname, '../..'), stdio: ['pipe', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (c) => (stderr += c));
        const ready = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
        const done = new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${agent}: ${stderr}`)))));
        return { child, ready, done };
      };
      const writers = [writer('writer-a'), writer('writer-b')];
      await Promise.all(writers.map((w) => w.ready));
      for (const w of writers) w.child.stdin.end('go\n');
      await Promise.all(writers.map((w) => w.done));
      audit = createAuditStore(database.db, key);
      expect(await audit.verify()).toMatchObject({ intact: true, checked: 50 });
      const rows = await database.db('audit_events').orderBy('id').select('agent', 'prev_hash');
      expect(new Set(rows.map((r: { prev_hash: string }) => r.prev_hash)).size).toBe(50);
      // Interleaved, not one after the other: the two really wrote at the same time.
      const switches = rows.filter((r: { agent: string }, i: number) => i > 0 && r.agent !== rows[i - 1].agent).length;
      expect(switches).toBeGreaterThan(1);
    }, 60_000);

    test('when migration 011 meets existing rows, then it chains them with the key it is given, and refuses without one', async () => {
      const { db } = database;
      await migrateToLatest(db);
      await db.migrate.down({ migrationSource, name: '20261126_011_audit_chain' });
      for (let n = 1; n <= 3; n++) {
        const e = event(n);
        await db('audit_events').insert({ ...e, at: at(n), detail: e.detail ? JSON.stringify(e.detail) : null });
      }
      await expect(migrateToLatest(db)).rejects.toThrow(/chains the 3 existing audit rows with the audit key/);

      await migrateToLatest(db, { context: { chainAuditRows: (trx) => chainUnchainedAuditRows(trx, key) } });
      audit = createAuditStore(db, key);
      expect(await audit.verify()).toMatchObject({ intact: true, checked: 3 });
      await audit.record(event(4), at(4));
      expect(await audit.verify()).toMatchObject({ intact: true, checked: 4 });
      expect(await (await db('audit_events').orderBy('id')).map((r: { action: string }) => r.action)).toEqual(['reissue', 'unlock', 'reissue', 'unlock']);
    });
  },
  { per: 'test' },
);
