// The support console's finds and lists on every supported database: exact and partial matches, wildcards taken
// literally, filters, paging, expiry and waiting lists, the audit trail's filters and a workflow's mails by key prefix.
import crypto from 'node:crypto';
import { createMailOutboxStore } from '../../engines/mail';
import { createStores, type Stores } from '../../stores';
import { SEARCH_FIELDS } from '../../stores/support-search';
import type { RequestSnapshot } from '../../workflows/definitions';
import { forEachDatabase } from '../support/databases';

const T0 = new Date('2026-11-01T00:00:00Z');
const at = (days: number) => new Date(T0.getTime() + days * 86_400_000);

async function seed(stores: Stores, userId: string, o: { profile?: 'kdanshinnet' | 'nissay'; email?: string; organization?: string; requestId: string; createdDay: number; snapshot?: Omit<RequestSnapshot, 'requestId' | 'guideExpiresAt'> }) {
  const profile = o.profile ?? 'kdanshinnet';
  if (!(await stores.users.find(userId, profile))) {
    await stores.users.insert({
      userId,
      profile,
      email: o.email ?? `${userId}@bank.example.co.jp`,
      idAdminEmail: 'id-admin@bank.example.co.jp',
      organization: o.organization ?? 'sampleCompany',
      organizationalUnits: ['div1'],
      subscriberId: `S-${userId}`,
      createdAt: at(o.createdDay),
      currentRequestId: o.requestId,
    });
  }
  await stores.requests.insert({ requestId: o.requestId, userId, profile, kind: 'new', workflowId: `certificate-${profile}-${o.requestId}` }, at(o.createdDay));
  if (o.snapshot) await stores.requests.applySnapshot({ requestId: o.requestId, guideExpiresAt: at(o.createdDay + 30).toISOString(), ...o.snapshot }, at(o.createdDay));
}

const page = { limit: 50, offset: 0 };
const ids = (rows: Array<{ requestId: string }>) => rows.map((r) => r.requestId);

forEachDatabase('the support search store', (database) => {
  let stores: Stores;
  beforeAll(async () => {
    stores = createStores(database.db, { auditKey: crypto.randomBytes(32) });
    await seed(stores, 'emp001', { requestId: '202611010000001', createdDay: 0, email: 'Taro.Yamada@Bank.example.co.jp', organization: '日本生命 営業部',
      snapshot: { state: 'active', serial: '0a1b2c3d', notBefore: at(1).toISOString(), notAfter: at(40).toISOString() } });
    await seed(stores, 'emp001', { requestId: '202611010000002', createdDay: 1, profile: 'nissay', snapshot: { state: 'awaitingKeyRetrieval' } });
    await seed(stores, 'emp_01', { requestId: '202611010000003', createdDay: 2, email: 'x_y@bank.example.co.jp', organization: '100% Bank',
      snapshot: { state: 'renewed', serial: 'ff00', notBefore: at(2).toISOString(), notAfter: at(10).toISOString() } });
    await seed(stores, 'emp002', { requestId: '202611010000004', createdDay: 3, organization: 'Other Corp', snapshot: { state: 'keyReady', serial: 'ee01', notAfter: at(5).toISOString() } });
    await seed(stores, 'emp003', { requestId: '202611010000005', createdDay: 4, snapshot: { state: 'expired', serial: 'dd02', notAfter: at(3).toISOString() } });
  });

  test('when searching by an ID or a serial, then only the exact value matches, and the row carries the user fields', async () => {
    expect(await stores.search.searchRequests({ ...page, text: '202611010000001', field: 'requestId' })).toEqual([
      {
        userId: 'emp001', profile: 'kdanshinnet', requestId: '202611010000001', kind: 'new', status: 'active', serial: '0a1b2c3d',
        notBefore: at(1), notAfter: at(40), guideExpiresAt: at(30), createdAt: at(0), email: 'Taro.Yamada@Bank.example.co.jp', organization: '日本生命 営業部',
      },
    ]);
    expect(ids(await stores.search.searchRequests({ ...page, text: '20261101000000', field: 'requestId' }))).toEqual([]);
    expect(ids(await stores.search.searchRequests({ ...page, text: 'emp001', field: 'userId' }))).toEqual(['202611010000002', '202611010000001']);
    expect(ids(await stores.search.searchRequests({ ...page, text: 'emp00', field: 'userId' }))).toEqual([]);
    expect(ids(await stores.search.searchRequests({ ...page, text: '0A:1B:2C:3D', field: 'serial' }))).toEqual(['202611010000001']);
    expect(ids(await stores.search.searchRequests({ ...page, text: '0a1b', field: 'serial' }))).toEqual([]);
  });

  test('when searching by mail or organisation, then the mail matches by its start and the organisation anywhere, ignoring case', async () => {
    expect(ids(await stores.search.searchRequests({ ...page, text: 'taro.yamada@bank', field: 'email' }))).toEqual(['202611010000001']);
    expect(ids(await stores.search.searchRequests({ ...page, text: 'yamada', field: 'email' }))).toEqual([]);
    expect(ids(await stores.search.searchRequests({ ...page, text: '営業', field: 'organization' }))).toEqual(['202611010000001']);
    expect(ids(await stores.search.searchRequests({ ...page, text: 'other corp', field: 'organization' }))).toEqual(['202611010000004']);
  });

  test('when the text holds LIKE wildcards, then they match only themselves', async () => {
    expect(ids(await stores.search.searchRequests({ ...page, text: '%', field: 'organization' }))).toEqual(['202611010000003']);
    expect(ids(await stores.search.searchRequests({ ...page, text: 'x_y', field: 'email' }))).toEqual(['202611010000003']);
    expect(ids(await stores.search.searchRequests({ ...page, text: 'x%', field: 'email' }))).toEqual([]);
    expect(ids(await stores.search.searchRequests({ ...page, text: '_', field: 'email' }))).toEqual([]);
    expect(ids(await stores.search.searchRequests({ ...page, text: '\\', field: 'organization' }))).toEqual([]);
  });

  test('when no field is named, then every field is searched; status, profile and paging narrow the result', async () => {
    expect(ids(await stores.search.searchRequests({ ...page, text: 'ff00' }))).toEqual(['202611010000003']);
    expect(ids(await stores.search.searchRequests({ ...page, text: 'emp001' }))).toEqual(['202611010000002', '202611010000001']);
    expect(ids(await stores.search.searchRequests({ ...page, text: 'emp001', status: 'active' }))).toEqual(['202611010000001']);
    expect(ids(await stores.search.searchRequests({ ...page, text: 'emp001', profile: 'nissay' }))).toEqual(['202611010000002']);
    expect(ids(await stores.search.searchRequests({ text: 'emp', limit: 2, offset: 0 }))).toEqual(['202611010000005', '202611010000004']);
    expect(ids(await stores.search.searchRequests({ text: 'emp001', limit: 1, offset: 1 }))).toEqual(['202611010000001']);
  });

  test('when listing expiring and waiting requests, then status and date bounds apply, in date order', async () => {
    const serving = ['active', 'renewed'] as const;
    expect(ids(await stores.search.expiring({ ...page, statuses: serving, notAfterBy: at(40) }))).toEqual(['202611010000003', '202611010000001']);
    expect(ids(await stores.search.expiring({ ...page, statuses: serving, notAfterBy: at(39) }))).toEqual(['202611010000003']);
    expect(ids(await stores.search.expiring({ ...page, statuses: serving, notAfterBy: at(40), profile: 'nissay' }))).toEqual([]);
    const waiting = ['awaitingKeyRetrieval', 'keyReady'] as const;
    expect(ids(await stores.search.waitingSince({ ...page, statuses: waiting, createdBy: at(3) }))).toEqual(['202611010000002', '202611010000004']);
    expect(ids(await stores.search.waitingSince({ ...page, statuses: waiting, createdBy: at(2) }))).toEqual(['202611010000002']);
  });

  test('when the lists and searches run, then each reaches its rows through an index: no table read whole, the expiring list not sorted whole', async () => {
    const sent: Array<{ sql: string; bindings: unknown[] }> = [];
    const record = (q: { sql: string; bindings?: unknown[] }) => sent.push({ sql: q.sql, bindings: q.bindings ?? [] });
    const serving = ['active', 'renewed'] as const;
    database.db.on('query', record);
    try {
      await stores.search.expiring({ ...page, statuses: serving, notAfterBy: at(40) });
      await stores.search.waitingSince({ ...page, statuses: ['awaitingKeyRetrieval', 'keyReady'], createdBy: at(3) });
      await stores.search.searchRequests({ text: 'emp001', limit: 200, offset: 0 });
      for (const field of SEARCH_FIELDS) await stores.search.searchRequests({ ...page, text: 'emp001', field });
      await stores.requests.list({});
      await stores.requests.list({ status: 'active', limit: 100 });
      await stores.requests.list({ expiringBefore: at(40), limit: 100 });
    } finally {
      database.db.off('query', record);
    }
    // The planners' answers on a few rows say which access paths exist: SQLite plans without statistics as for a big table,
    // PostgreSQL is told to avoid reading a table whole wherever an index can serve (a plan still doing so had none).
    const plan = async ({ sql, bindings }: { sql: string; bindings: unknown[] }): Promise<string[]> => {
      if (database.kind === 'sqlite') return ((await database.db.raw(`explain query plan ${sql}`, bindings as never)) as Array<{ detail: string }>).map((r) => r.detail);
      return database.db.transaction(async (trx) => {
        await trx.raw('set local enable_seqscan = off');
        const rows = (await trx.raw(`explain ${sql.replace(/\$\d+/g, '?')}`, bindings as never)).rows as Array<{ 'QUERY PLAN': string }>;
        return rows.map((r) => r['QUERY PLAN']);
      });
    };
    // Each list and search at least once (a search also reads the organisations its text names, and on SQLite counts its matches).
    expect(sent.length).toBeGreaterThanOrEqual(3 + SEARCH_FIELDS.length + 3);
    for (const query of sent) {
      const lines = await plan(query);
      const wholeTable = lines.filter((l) => /^\s*(->\s*)?Seq Scan on (requests|users)\b/.test(l) || /^SCAN (r|u|mr|mu|requests|users)$/.test(l));
      expect({ sql: query.sql, wholeTable }).toEqual({ sql: query.sql, wholeTable: [] });
    }
    if (database.kind === 'sqlite') expect(await plan(sent[0]!)).not.toContain('USE TEMP B-TREE FOR ORDER BY');
  });

  test('when the audit trail is searched, then agent, action, exact or prefix target and the date range filter it, newest first', async () => {
    const e = (agent: string, action: string, target: string) => ({ agent, role: 'support', action, target, outcome: 'ok' as const });
    await stores.audit.record(e('sato', 'reissue', 'user:emp001'), at(1));
    await stores.audit.record(e('sato', 'revoke', 'user:emp001/nissay'), at(2));
    await stores.audit.record(e('tanaka', 'reissue', 'request:202611010000001'), at(3));
    await stores.audit.record(e('tanaka', 'unlock', 'user:emp0%'), at(4));
    const search = async (f: Parameters<Stores['audit']['search']>[0]) => (await stores.audit.search(f)).map((x) => `${x.agent} ${x.action} ${x.target}`);

    expect(await search(page)).toEqual(['tanaka unlock user:emp0%', 'tanaka reissue request:202611010000001', 'sato revoke user:emp001/nissay', 'sato reissue user:emp001']);
    expect(await search({ ...page, agent: 'sato' })).toEqual(['sato revoke user:emp001/nissay', 'sato reissue user:emp001']);
    expect(await search({ ...page, action: 'reissue' })).toEqual(['tanaka reissue request:202611010000001', 'sato reissue user:emp001']);
    expect(await search({ ...page, targets: [{ value: 'user:emp001' }] })).toEqual(['sato reissue user:emp001']);
    expect(await search({ ...page, targets: [{ value: 'user:emp001', prefix: true }] })).toEqual(['sato revoke user:emp001/nissay', 'sato reissue user:emp001']);
    expect(await search({ ...page, targets: [{ value: 'user:emp0%', prefix: true }] })).toEqual(['tanaka unlock user:emp0%']);
    expect(await search({ ...page, targets: [{ value: 'user:emp001' }, { value: 'request:202611010000001' }] })).toEqual(['tanaka reissue request:202611010000001', 'sato reissue user:emp001']);
    expect(await search({ ...page, targets: [] })).toEqual([]);
    expect(await search({ ...page, from: at(2), to: at(4) })).toEqual(['tanaka reissue request:202611010000001', 'sato revoke user:emp001/nissay']);
    expect(await search({ limit: 1, offset: 1 })).toEqual(['tanaka reissue request:202611010000001']);
  });

  test('when a workflow\'s mails are listed by key prefix, then only its keys come back, oldest first, wildcards literal', async () => {
    let now = T0;
    const outbox = createMailOutboxStore(database.db, () => now);
    const mail = (key: string) => ({ key, kind: 'acquisitionGuide' as const, recipient: 'a@b.example', subject: 's', messageId: `<${key}@x>` });
    await outbox.enqueue(mail('certificate-kdanshinnet-202611010000001:acquisition-guide'));
    now = at(1);
    await outbox.enqueue(mail('certificate-kdanshinnet-202611010000001:enrollment-password'));
    await outbox.enqueue(mail('certificate-kdanshinnet-2026110100000011:acquisition-guide'));
    await outbox.enqueue(mail('certificate-kdanshinnet-202611010000002:acquisition-guide'));
    expect((await outbox.listByKeyPrefix('certificate-kdanshinnet-202611010000001:')).map((m) => m.key)).toEqual([
      'certificate-kdanshinnet-202611010000001:acquisition-guide',
      'certificate-kdanshinnet-202611010000001:enrollment-password',
    ]);
    expect(await outbox.listByKeyPrefix('certificate-kdanshinnet-20261101000000_:')).toEqual([]);
  });

  test('when a search matches more than 500 requests, then it pages them newest first as a narrow one does, without sorting them all', async () => {
    // 600 users of two organisations whose names share "Big", one request each, a minute apart (the last seeded newest).
    const many = 600;
    const requestIdAt = (i: number) => `2026120100${String(i).padStart(5, '0')}`;
    for (let from = 0; from < many; from += 100) {
      await database.db.batchInsert('users', Array.from({ length: 100 }, (_, k) => from + k).map((i) => ({
        user_id: `big${i}`, profile: 'kdanshinnet', email: `big${i}@bank.example.co.jp`, id_admin_email: 'id-admin@bank.example.co.jp',
        organization: i % 2 ? 'Big Bank' : 'BIG Insurance', organizational_units: '["div1"]', subscriber_id: `S-big${i}`, current_request_id: requestIdAt(i), created_at: at(30),
      })));
      for (let i = from; i < from + 100; i++) {
        await stores.requests.insert({ requestId: requestIdAt(i), userId: `big${i}`, profile: 'kdanshinnet', kind: 'new', workflowId: `certificate-kdanshinnet-${requestIdAt(i)}` }, new Date(at(30).getTime() + i * 60_000));
      }
    }
    const newest = (from: number, n: number, pick = (_i: number) => true) =>
      Array.from({ length: many }, (_, k) => many - 1 - k).filter(pick).slice(from, from + n).map(requestIdAt);

    const sent: string[] = [];
    const record = (q: { sql: string }) => sent.push(q.sql);
    database.db.on('query', record);
    try {
      expect(ids(await stores.search.searchRequests({ ...page, text: 'big', field: 'organization' }))).toEqual(newest(0, 50));
      expect(ids(await stores.search.searchRequests({ text: 'big', field: 'organization', limit: 20, offset: 570 }))).toEqual(newest(570, 20));
      expect(ids(await stores.search.searchRequests({ ...page, text: 'big bank', field: 'organization' }))).toEqual(newest(0, 50, (i) => i % 2 === 1));
      // Every field: the organisation and the mail prefix both match; each request once.
      expect(ids(await stores.search.searchRequests({ ...page, text: 'big' }))).toEqual(newest(0, 50));
      expect(ids(await stores.search.searchRequests({ ...page, text: 'big', status: 'active' }))).toEqual([]);
      // A narrow search among them still finds its one request (its user ID; its mail address by its start).
      expect(ids(await stores.search.searchRequests({ ...page, text: 'big7', field: 'userId' }))).toEqual([requestIdAt(7)]);
      expect(ids(await stores.search.searchRequests({ ...page, text: 'big7@', field: 'email' }))).toEqual([requestIdAt(7)]);
    } finally {
      database.db.off('query', record);
    }
    if (database.kind === 'sqlite') {
      // The page's query walks the requests in their order: not every match read and sorted.
      const pageQuery = sent.find((sql) => sql.startsWith('select `r`.*') && sql.includes('+`u`.`organization`'))!;
      const plan = ((await database.db.raw(`explain query plan ${pageQuery}`, Array(pageQuery.split('?').length - 1).fill('x'))) as Array<{ detail: string }>).map((r) => r.detail);
      expect(plan).not.toContain('USE TEMP B-TREE FOR ORDER BY');
    }
  });
});
