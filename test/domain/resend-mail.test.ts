// Resending a failed mail: once more through the outbox under its own key, never twice however often it is asked,
// refused for a mail that is not failed and for a password mail (its sealed password is gone).
import { resendFailedMail, type Actor } from '../../domain';
import { forEachDatabase } from '../support/databases';
import { createDomainFixture, type DomainFixture } from '../support/domain-fixture';

const DAY = 86_400_000;
const agent: Actor = { agent: 'support-tanaka', role: 'support' };

forEachDatabase('resending a failed mail', (database) => {
  let f: DomainFixture;
  let seq = 0;
  const iso = (days: number) => new Date(f.now.getTime() + days * DAY).toISOString();

  /** A user whose request's mail of `kind` was refused for good by the receiving server. */
  async function failedMail(kind: 'acquisitionGuide' | 'enrollmentPassword' | 'renewalNotice', event: string, status: 'failed' | 'sent' = 'failed') {
    const userId = `rs${String(++seq).padStart(3, '0')}`;
    const requestId = `2026112500007${String(seq).padStart(2, '0')}`;
    await f.addUser(userId);
    const { workflowId } = await f.addRequest({ userId, requestId, snapshot: { state: 'active', serial: `aa${seq}`, notBefore: iso(-1000), notAfter: iso(30), guideExpiresAt: iso(20) } });
    const key = `${workflowId}:${event}`;
    const recipient = `${userId}@bank.example.co.jp`;
    await f.outbox.enqueue({ key, kind, recipient, subject: 'original', messageId: `<${key}>` });
    if (status === 'failed') await f.outbox.markFailed(key, '550 5.1.1 mailbox full');
    else await f.outbox.markSent(key, '250 ok');
    return { key, recipient, requestId, userId };
  }
  const received = (to: string) => f.mailbox.received.filter((m) => m.envelopeTo.includes(to));

  beforeAll(async () => { f = await createDomainFixture(database.db); });
  afterAll(() => f.close());

  test('when a failed guide mail is resent, then it goes out once under its own key, the refusal stays on record, and a second resend is refused', async () => {
    const { key, recipient, requestId } = await failedMail('acquisitionGuide', 'acquisition-guide');
    expect((await f.outbox.listFailedMails()).map((m) => m.key)).toContain(key);

    const resent = await resendFailedMail(f.deps, agent, key);
    expect(resent).toEqual({ key, resendKey: `${key}:resend`, kind: 'acquisitionGuide', recipient, status: 'sent', resentBy: 'support-tanaka' });
    const [mail, ...more] = received(recipient);
    expect(more).toEqual([]);
    expect(mail!.parsed.subject).toBe('【団信ネット（3社共用）】クライアント証明書取得のご案内');
    expect(mail!.parsed.text).toContain(requestId);
    expect(await f.outbox.get(key)).toMatchObject({ status: 'failed', lastError: '550 5.1.1 mailbox full' });
    expect(await f.outbox.get(`${key}:resend`)).toMatchObject({ status: 'sent', attempts: 1 });
    expect((await f.outbox.listFailedMails()).map((m) => m.key)).not.toContain(key);

    await expect(resendFailedMail(f.deps, agent, key)).rejects.toMatchObject({ code: 'conflict', message: `mail ${key} was resent already: ${key}:resend was sent` });
    expect(received(recipient)).toHaveLength(1);
  });

  test('when the same resend is asked for twice at once, then one mail goes out', async () => {
    const { key, recipient } = await failedMail('renewalNotice', 'renewal-notice-30');
    f.mailbox.dataDelayMs = 300;
    try {
      const outcomes = await Promise.allSettled([resendFailedMail(f.deps, agent, key), resendFailedMail(f.deps, agent, key)]);
      expect(outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<{ status: string }>).value.status)).toContain('sent');
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'conflict', message: expect.stringContaining('being sent by another call') });
    } finally {
      f.mailbox.dataDelayMs = 0;
    }
    const mails = received(recipient);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.parsed.subject).toContain('クライアント証明書更新のご案内');
  });

  test('when the mail server is down, then nothing is sent and the resend is refused as unavailable; once up, the same resend goes out', async () => {
    const { key, recipient } = await failedMail('acquisitionGuide', 'acquisition-guide');
    await f.mailbox.down();
    try {
      await expect(resendFailedMail(f.deps, agent, key)).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await f.mailbox.up();
    }
    expect(await f.outbox.get(`${key}:resend`)).toMatchObject({ status: 'pending' });
    expect(await resendFailedMail(f.deps, agent, key)).toMatchObject({ status: 'sent' });
    expect(received(recipient)).toHaveLength(1);
  });

  test('when the resend is refused again, then it is listed in place of the original and may itself be resent', async () => {
    const { key, recipient } = await failedMail('acquisitionGuide', 'acquisition-guide');
    f.mailbox.refused.add(recipient);
    expect(await resendFailedMail(f.deps, agent, key)).toMatchObject({ status: 'failed', reason: expect.stringContaining('550') });
    const failedKeys = (await f.outbox.listFailedMails()).map((m) => m.key);
    expect(failedKeys).toContain(`${key}:resend`);
    expect(failedKeys).not.toContain(key);
    await expect(resendFailedMail(f.deps, agent, key)).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining(`resend ${key}:resend instead`) });
    f.mailbox.refused.delete(recipient);
    expect(await resendFailedMail(f.deps, agent, `${key}:resend`)).toMatchObject({ resendKey: `${key}:resend:resend`, status: 'sent' });
    expect(received(recipient)).toHaveLength(1);
  });

  test('when the mail is not failed, unknown, or carried an enrollment password, then the resend is refused with the reason and nothing is sent', async () => {
    const sent = await failedMail('acquisitionGuide', 'acquisition-guide', 'sent');
    await expect(resendFailedMail(f.deps, agent, sent.key)).rejects.toMatchObject({ code: 'conflict', message: `mail ${sent.key} is sent: only a mail refused for good (failed) can be resent` });
    await expect(resendFailedMail(f.deps, agent, 'certificate-kdanshinnet-209901010000001:acquisition-guide')).rejects.toMatchObject({ code: 'notFound' });
    await expect(resendFailedMail(f.deps, agent, 'x'.repeat(201))).rejects.toMatchObject({ code: 'invalid', detail: { field: 'key' } });
    const password = await failedMail('enrollmentPassword', 'enrollment-password');
    await expect(resendFailedMail(f.deps, agent, password.key)).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('reset the password') });
    expect(received(sent.recipient)).toEqual([]);
    expect(received(password.recipient)).toEqual([]);
    expect(await f.outbox.get(`${password.key}:resend`)).toBeUndefined();
  });
});
