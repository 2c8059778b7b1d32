// Sealed secrets, the outbox store and the mail migration, against every configured database.
import { createSealedSecrets, createMailOutboxStore, createMailRenderer, templates } from './imports';
import { rollbackAll, migrateToLatest } from '../../infra/db';
import { forEachDatabase } from '../support/databases';
import { dataKey } from './support';

forEachDatabase('mail storage', (testDb) => {

  it('when a secret is sealed, then only its reference leaves, the row holds no clear text, and open returns it', async () => {
    const secrets = createSealedSecrets({ db: testDb.db, dataKey });
    const ref = await secrets.seal('Pw-12345-abcde');
    expect(ref).not.toContain('Pw-12345');
    const row = await testDb.db('sealed_secrets').where({ ref }).first();
    expect(Buffer.from(row.ciphertext).includes(Buffer.from('Pw-12345-abcde'))).toBe(false);
    expect(await secrets.open(ref)).toBe('Pw-12345-abcde');
  });

  it('when the data key is another, or a ciphertext is moved under another reference, then open fails', async () => {
    const secrets = createSealedSecrets({ db: testDb.db, dataKey });
    const a = await secrets.seal('secret-a');
    const b = await secrets.seal('secret-b');
    const otherKey = createSealedSecrets({ db: testDb.db, dataKey: Buffer.alloc(32, 1) });
    await expect(otherKey.open(a)).rejects.toThrow();
    const rowA = await testDb.db('sealed_secrets').where({ ref: a }).first();
    await testDb.db('sealed_secrets').where({ ref: b }).update({ ciphertext: rowA.ciphertext, nonce: rowA.nonce });
    await expect(secrets.open(b)).rejects.toThrow();
  });

  it('when a secret is wiped, then it cannot be opened again and wiping twice is harmless', async () => {
    const secrets = createSealedSecrets({ db: testDb.db, dataKey });
    const ref = await secrets.seal('one-time');
    await secrets.wipe(ref);
    await secrets.wipe(ref);
    await expect(secrets.open(ref)).rejects.toMatchObject({ name: 'SealedSecretUnavailable' });
    await expect(secrets.open('sealed_unknown')).rejects.toThrow(/unknown/);
  });

  it('when a secret is never opened (its registration died before its workflow), then the first seal after its retention wipes it, and only it', async () => {
    const day = 86_400_000;
    let now = new Date('2026-11-01T00:00:00Z');
    const secrets = createSealedSecrets({ db: testDb.db, dataKey, clock: () => now, retentionMs: 31 * day });
    const orphan = await secrets.seal('never-mailed');
    const opened = await secrets.seal('mailed-and-kept-for-the-record');
    await secrets.wipe(opened);
    now = new Date(now.getTime() + 20 * day);
    const younger = await secrets.seal('mailed-soon');
    now = new Date(now.getTime() + 11 * day);
    // 31 days to the millisecond: still kept.
    await secrets.seal('another');
    expect(await secrets.open(orphan)).toBe('never-mailed');
    now = new Date(now.getTime() + 1);
    await secrets.seal('the next registration');
    await expect(secrets.open(orphan)).rejects.toThrow(/wiped/);
    const row = await testDb.db('sealed_secrets').where({ ref: orphan }).first();
    expect(row.ciphertext).toBeNull();
    expect(row.nonce).toBeNull();
    expect(new Date(row.consumed_at).getTime()).toBe(now.getTime());
    expect(await secrets.open(younger)).toBe('mailed-soon');
    // The one wiped at its mail keeps the time of that wipe.
    const kept = await testDb.db('sealed_secrets').where({ ref: opened }).first();
    expect(new Date(kept.consumed_at).getTime()).toBe(new Date('2026-11-01T00:00:00Z').getTime());
  });

  it('when the data key is not 32 bytes, then the store refuses to start', () => {
    expect(() => createSealedSecrets({ db: testDb.db, dataKey: Buffer.alloc(16) })).toThrow(/32-byte/);
  });

  it('when a key is enqueued twice, then one row stands and only one attempt can hold it at a time', async () => {
    let now = new Date('2026-11-25T00:00:00Z');
    const store = createMailOutboxStore(testDb.db, () => now);
    const mail = { key: 'certificate-nissay-1:guide', kind: 'acquisitionGuide' as const, recipient: 'a@b.jp', subject: 's', messageId: '<m@x>' };
    await store.enqueue(mail);
    await store.enqueue({ ...mail, subject: 'another' });
    expect(await store.get(mail.key)).toMatchObject({ status: 'pending', subject: 's', attempts: 0 });
    expect(await store.claim(mail.key, 1000)).toBe(true);
    expect(await store.claim(mail.key, 1000)).toBe(false);
    now = new Date(now.getTime() + 1001);
    expect(await store.claim(mail.key, 1000)).toBe(true);
    await store.release(mail.key, '421 busy');
    expect(await store.claim(mail.key, 1000)).toBe(true);
    await store.markSent(mail.key, '250 OK');
    expect(await store.claim(mail.key, 1000)).toBe(false);
    expect(await store.get(mail.key)).toMatchObject({ status: 'sent', attempts: 3, smtpResponse: '250 OK', sentAt: now });
  });

  it('when an attempt writes its row already held, then a second writer of the same key neither inserts nor holds it', async () => {
    const store = createMailOutboxStore(testDb.db, () => new Date('2026-11-25T00:00:00Z'));
    const mail = { key: 'certificate-kdanshinnet-2:renewal:7', kind: 'renewalNotice' as const, recipient: 'a@b.jp', subject: 's', messageId: '<n@x>' };
    expect(await store.enqueueClaimed(mail, 60_000)).toBe(true);
    expect(await store.enqueueClaimed(mail, 60_000)).toBe(false);
    expect(await store.claim(mail.key, 60_000)).toBe(false);
    expect(await store.get(mail.key)).toMatchObject({ status: 'pending', attempts: 1 });
  });

  it('when a body went out without an answer, then the row is unconfirmed: held for its wait (renewed while an attempt lives), then claimable again', async () => {
    let now = new Date('2026-11-25T00:00:00Z');
    const store = createMailOutboxStore(testDb.db, () => now);
    const mail = { key: 'certificate-nissay-3:user-id-notice', kind: 'userIdNotice' as const, recipient: 'a@b.jp', subject: 's', messageId: '<u@x>' };
    const later = (ms: number) => { now = new Date(now.getTime() + ms); };
    expect(await store.enqueueClaimed(mail, 60_000)).toBe(true);
    later(50_000);
    await store.renew(mail.key, 60_000); // the attempt lives: its lease runs from now
    later(50_000);
    expect(await store.claim(mail.key, 60_000)).toBe(false);
    await store.markUnconfirmed(mail.key, 30 * 60_000); // the body is out
    later(20 * 60_000);
    expect(await store.claim(mail.key, 60_000)).toBe(false);
    await store.markUnconfirmed(mail.key, 30 * 60_000, 'no answer after the body: ETIMEDOUT');
    expect(await store.get(mail.key)).toMatchObject({ status: 'unconfirmed', attempts: 1, lastError: 'no answer after the body: ETIMEDOUT', updatedAt: now });
    expect((await store.listUnconfirmedMails()).map((m) => m.key)).toEqual([mail.key]);
    expect(await store.countPending()).toBe(1);
    later(30 * 60_000 - 1);
    expect(await store.claim(mail.key, 60_000)).toBe(false);
    later(1);
    expect(await store.claim(mail.key, 60_000)).toBe(true);
    expect(await store.get(mail.key)).toMatchObject({ status: 'pending', attempts: 2 });
    await store.markSent(mail.key, '250 OK');
    // A late body-out note of an attempt that has settled changes nothing.
    await store.markUnconfirmed(mail.key, 30 * 60_000);
    await store.renew(mail.key, 30 * 60_000);
    expect(await store.get(mail.key)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(await store.listUnconfirmedMails()).toEqual([]);
  });

  it('when the relay refuses a body with a 4xx after it went out, then release makes the unconfirmed row pending and free at once', async () => {
    const store = createMailOutboxStore(testDb.db, () => new Date('2026-11-25T00:00:00Z'));
    const mail = { key: 'certificate-nissay-4:acquisition-guide', kind: 'acquisitionGuide' as const, recipient: 'a@b.jp', subject: 's', messageId: '<g@x>' };
    expect(await store.enqueueClaimed(mail, 60_000)).toBe(true);
    await store.markUnconfirmed(mail.key, 30 * 60_000);
    await store.release(mail.key, '451 4.3.0 try later');
    expect(await store.get(mail.key)).toMatchObject({ status: 'pending', lastError: '451 4.3.0 try later' });
    expect(await store.claim(mail.key, 60_000)).toBe(true);
  });

  it('when mails are refused, then listFailedMails shows them newest first and nothing else', async () => {
    let now = new Date('2026-11-25T00:00:00Z');
    const store = createMailOutboxStore(testDb.db, () => now);
    for (const key of ['k1', 'k2', 'k3']) {
      await store.enqueue({ key, kind: 'renewalNotice', recipient: `${key}@b.jp`, subject: 's', messageId: `<${key}@x>` });
    }
    await store.markFailed('k1', '550 no such user');
    now = new Date(now.getTime() + 1000);
    await store.markFailed('k3', '550 mailbox disabled');
    await store.markSent('k2', '250 OK');
    const failed = await store.listFailedMails();
    expect(failed.map((f) => [f.key, f.lastError])).toEqual([
      ['k3', '550 mailbox disabled'],
      ['k1', '550 no such user'],
    ]);
    expect(await store.listFailedMails({ limit: 1 })).toHaveLength(1);
  });

  it('when mails are waiting, held, sent or refused, then countPending counts the waiting and the held only', async () => {
    const store = createMailOutboxStore(testDb.db, () => new Date('2026-11-25T00:00:00Z'));
    expect(await store.countPending()).toBe(0);
    const mail = (key: string) => ({ key, kind: 'renewalNotice' as const, recipient: `${key}@b.jp`, subject: 's', messageId: `<${key}@x>` });
    for (const key of ['p1', 'p2', 's1', 'f1']) await store.enqueue(mail(key));
    expect(await store.enqueueClaimed(mail('held'), 60_000)).toBe(true);
    await store.markSent('s1', '250 OK');
    await store.markFailed('f1', '550 no such user');
    await store.release('p2', '421 busy');
    // A number, not PostgreSQL's bigint-as-string.
    expect(await store.countPending()).toBe(3);
  });

  it('when all migrations are rolled back and re-applied, then the mail tables go and come back', async () => {
    await rollbackAll(testDb.db);
    expect(await testDb.db.schema.hasTable('mail_outbox')).toBe(false);
    expect(await testDb.db.schema.hasTable('sealed_secrets')).toBe(false);
    await migrateToLatest(testDb.db);
    expect(await testDb.db.schema.hasTable('mail_outbox')).toBe(true);
    expect(await testDb.db.schema.hasTable('sealed_secrets')).toBe(true);
  });
}, { per: 'test' });

describe('the mail renderer', () => {
  it('when a template is not valid mjml, then the renderer fails at start-up, not when a mail is sent', async () => {
    const broken = { ...templates, reissueReady: { ...templates.reissueReady, mjml: '<mj-bogus>x</mj-bogus>' } };
    await expect(createMailRenderer(broken)).rejects.toThrow(/reissueReady is invalid mjml/);
  });
});
