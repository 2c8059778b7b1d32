// sendMail over a real SMTP listener: every kind arrives once, complete and with nothing that is not its own.
import fs from 'node:fs';
import path from 'node:path';
import type { Transporter } from 'nodemailer';
import { ApplicationFailure } from '@temporalio/common';
import {
  createMailActivities,
  createMailOutboxStore,
  createMailRenderer,
  createSealedSecrets,
  createSmtpTransport,
  MAIL_KINDS,
  type MailRenderer,
  type MailRequest,
  type SealedSecrets,
  type ServiceIdentity,
} from '../../engines/mail';
import { createMetrics } from '../../infra/metrics';
import { counterValue } from '../support/metrics';
import { createTestDb, dataKey, kdanshinnet, nissay, startTestMailbox, support, type ReceivedMail, type TestMailbox } from './support';

const from = 'danshinnet-sc@nissay-it.co.jp';

interface TestUser {
  userId: string;
  email: string;
  adminEmail: string;
  requestId: string;
  service: ServiceIdentity;
  profile: string;
  enrollmentPassword: string;
}

const alice: TestUser = {
  userId: 'emp002',
  email: 'emp002@bank-a.example.jp',
  adminEmail: 'id-admin@bank-a.example.jp',
  requestId: '202611250000157',
  service: kdanshinnet,
  profile: 'kdanshinnet',
  enrollmentPassword: 'Qx7-hT2m-Wp9z',
};
const bob: TestUser = {
  userId: 'emp777',
  email: 'emp777@bank-b.example.jp',
  adminEmail: 'id-admin@bank-b.example.jp',
  requestId: '202611250000999',
  service: nissay,
  profile: 'nissay',
  enrollmentPassword: 'Lk3-vR8s-Jd4n',
};

const app = 'http://localhost:3000';

function mailsFor(user: TestUser, passwordRef: string): MailRequest[] {
  const wf = `certificate-${user.profile}-${user.requestId}`;
  const common = { service: user.service };
  return [
    { key: `${wf}:userIdNotice`, kind: 'userIdNotice', to: user.adminEmail, ...common, params: { userId: user.userId, userEmail: user.email } },
    { key: `${wf}:enrollmentPassword`, kind: 'enrollmentPassword', to: user.email, ...common, params: { enrollmentPasswordRef: passwordRef } },
    {
      key: `${wf}:acquisitionGuide`,
      kind: 'acquisitionGuide',
      to: user.email,
      ...common,
      params: { acquisitionUrl: `${app}/enroll/${user.profile}`, requestId: user.requestId, userId: user.userId, validUntil: '2026-12-25T03:00:00Z' },
    },
    {
      key: `${wf}:renewalNotice:30`,
      kind: 'renewalNotice',
      to: user.email,
      ...common,
      params: { renewalUrl: `${app}/renew/${user.profile}`, userId: user.userId, notBefore: '2026-11-25T03:00:00Z', notAfter: '2029-11-24T03:00:00Z', daysLeft: 30 },
    },
    {
      key: `${wf}:requestExpired`,
      kind: 'requestExpired',
      to: user.email,
      ...common,
      params: { requestId: user.requestId, userId: user.userId, expiredAt: '2026-12-25T03:00:00Z' },
    },
    {
      key: `${wf}:reissueReady`,
      kind: 'reissueReady',
      to: user.email,
      ...common,
      params: { acquisitionUrl: `${app}/enroll/${user.profile}`, requestId: user.requestId, validUntil: '2026-12-25T03:00:00Z' },
    },
    {
      key: `${wf}:certificateRevoked`,
      kind: 'certificateRevoked',
      to: user.email,
      ...common,
      params: { userId: user.userId, requestId: user.requestId, reason: 'keyCompromise', revokedAt: '2027-02-01T01:00:00Z' },
    },
    {
      key: `login-attempts:${user.profile}:${user.userId}:20270203`,
      kind: 'loginAttempts',
      to: user.email,
      ...common,
      params: { userId: user.userId, failures: 12, at: '2027-02-03T01:00:00Z' },
    },
  ];
}

/** What each kind must show: the link and the identifiers that belong in it. */
const expected: Record<string, (u: TestUser) => { subject: string; contains: string[]; link?: string }> = {
  userIdNotice: (u) => ({ subject: `${u.service.subjectPrefix}ユーザーIDのお知らせ`, contains: [u.userId, u.email] }),
  enrollmentPassword: (u) => ({ subject: `${u.service.subjectPrefix}ログインパスワードのお知らせ`, contains: [u.enrollmentPassword] }),
  acquisitionGuide: (u) => ({
    subject: `${u.service.subjectPrefix}クライアント証明書取得のご案内`,
    contains: [`Request ID: ${u.requestId}`, `(ご参考)ユーザーID: ${u.userId}`, '2026/12/25', support.manualUrl],
    link: `${app}/enroll/${u.profile}`,
  }),
  renewalNotice: (u) => ({
    subject: `${u.service.subjectPrefix}クライアント証明書更新のご案内`,
    contains: [`ユーザーID: ${u.userId}`, '有効期限: 2026/11/25~2029/11/24', '残り30日', support.manualUrl],
    link: `${app}/renew/${u.profile}`,
  }),
  requestExpired: (u) => ({ subject: `${u.service.subjectPrefix}クライアント証明書取得のご案内 有効期限切れのお知らせ`, contains: [u.requestId, u.userId, '2026/12/25'] }),
  reissueReady: (u) => ({
    subject: `${u.service.subjectPrefix}クライアント証明書再発行準備完了のお知らせ`,
    contains: [`Request ID: ${u.requestId}`, '2026/12/25'],
    link: `${app}/enroll/${u.profile}`,
  }),
  certificateRevoked: (u) => ({
    subject: `${u.service.subjectPrefix}クライアント証明書失効のお知らせ`,
    contains: [u.userId, u.requestId, '2027/02/01', '秘密鍵が漏えいした、またはそのおそれがあるため'],
  }),
  loginAttempts: (u) => ({
    subject: `${u.service.subjectPrefix}ログイン失敗に関するお知らせ`,
    contains: [`ユーザーID: ${u.userId}`, '2027/02/03に12回続けて失敗', 'サポートセンターまでお電話ください'],
  }),
};

/** What a reader of the HTML part sees: tags dropped, entities decoded. */
function visibleText(html: string): string {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: ' ' };
  return html
    .replace(/<(style|title)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<[^>]+>/g, '')
    .replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, e: string) => entities[e]!);
}

function partsOf(mail: ReceivedMail): { text: string; html: string } {
  return { text: mail.parsed.text ?? '', html: typeof mail.parsed.html === 'string' ? mail.parsed.html : '' };
}

describe('sendMail over SMTP', () => {
  let mailbox: TestMailbox;
  let testDb: Awaited<ReturnType<typeof createTestDb>>;
  let renderer: MailRenderer;
  let transport: Transporter;
  let secrets: SealedSecrets;
  let activities: ReturnType<typeof createMailActivities>;

  beforeAll(async () => {
    renderer = await createMailRenderer();
  });

  beforeEach(async () => {
    mailbox = await startTestMailbox();
    testDb = await createTestDb();
    transport = createSmtpTransport({ host: '127.0.0.1', port: mailbox.port, secure: false });
    secrets = createSealedSecrets({ db: testDb.db, dataKey });
    activities = createMailActivities({ outbox: createMailOutboxStore(testDb.db), secrets, transport, renderer, from, support });
  });

  afterEach(async () => {
    transport.close();
    await mailbox.close();
    await testDb.destroy();
  });

  it('when every kind is sent for two users, then each arrives once with its own subject, link, IDs and both parts, and nothing of the other user', async () => {
    const users = [alice, bob];
    const requests = new Map<TestUser, MailRequest[]>();
    for (const u of users) requests.set(u, mailsFor(u, await secrets.seal(u.enrollmentPassword)));
    for (const u of users) for (const r of requests.get(u)!) expect(await activities.sendMail(r)).toMatchObject({ status: 'sent', key: r.key });

    expect(mailbox.received).toHaveLength(users.length * MAIL_KINDS.length);
    for (const u of users) {
      const other = u === alice ? bob : alice;
      for (const r of requests.get(u)!) {
        const matching = mailbox.received.filter((m) => m.parsed.subject === expected[r.kind]!(u).subject && m.envelopeTo[0] === r.to);
        expect(matching).toHaveLength(1);
        const mail = matching[0]!;
        const { text, html } = partsOf(mail);
        const want = expected[r.kind]!(u);
        expect(mail.parsed.from?.value[0]?.address).toBe(from);
        expect(mail.parsed.to && !Array.isArray(mail.parsed.to) ? mail.parsed.to.value.map((a) => a.address) : []).toEqual([r.to]);
        expect(text.length).toBeGreaterThan(200);
        expect(html).toContain('<html');
        for (const part of [text, visibleText(html)]) {
          for (const s of want.contains) expect(part).toContain(s);
          expect(part).toContain(support.phone);
          expect(part).toContain(support.hours);
          expect(part).toContain('このメールは団信ネットのユーザー情報としてご登録いただいたメールアドレスへ送信しております。');
          expect(part).toContain(u.service.serviceName);
        }
        // Nothing of the other user, and no password outside the password notice: not in any part nor any header.
        const headers = JSON.stringify([...mail.parsed.headers]);
        for (const part of [text, html, headers]) {
          for (const leak of [other.userId, other.email, other.requestId, other.enrollmentPassword]) expect(part).not.toContain(leak);
          if (r.kind !== 'enrollmentPassword') expect(part).not.toContain(u.enrollmentPassword);
        }
        if (want.link) {
          expect(text).toContain(want.link);
          expect(html).toContain(`href="${want.link}"`);
        }
      }
    }
    // The password notice carries no user ID: that goes to the ID administrator on its own path.
    const passwordMail = mailbox.received.find((m) => m.parsed.subject === expected.enrollmentPassword!(alice).subject)!;
    expect(partsOf(passwordMail).text).not.toContain(alice.userId);
  });

  it('when each kind is rendered with fixed dates, then its subject, text and HTML match the snapshot', async () => {
    for (const r of mailsFor(alice, await secrets.seal(alice.enrollmentPassword))) {
      await activities.sendMail(r);
      const mail = mailbox.received.at(-1)!;
      const { text, html } = partsOf(mail);
      expect({ subject: mail.parsed.subject, from: mail.parsed.from?.text, to: r.to, text, html }).toMatchSnapshot(r.kind);
    }
  });

  it('when the same event is sent again (a retry), then the listener receives it once and the same message ID is returned', async () => {
    const [, , guide] = mailsFor(alice, 'unused');
    const first = await activities.sendMail(guide!);
    const second = await activities.sendMail(guide!);
    const third = await activities.sendMail(guide!);
    expect(first).toEqual(second);
    expect(third).toEqual(first);
    expect(mailbox.received).toHaveLength(1);
    expect(mailbox.received[0]!.parsed.messageId).toBe(first.status === 'sent' ? first.messageId : 'not sent');
  });

  it('when the password notice has been sent, then its sealed secret is wiped and the database never held it in clear', async () => {
    const ref = await secrets.seal(alice.enrollmentPassword);
    const [, passwordNotice] = mailsFor(alice, ref);
    expect(await activities.sendMail(passwordNotice!)).toMatchObject({ status: 'sent' });
    await expect(secrets.open(ref)).rejects.toThrow(/wiped/);
    const row = await testDb.db('sealed_secrets').where({ ref }).first();
    expect(row.ciphertext).toBeNull();
    expect(row.consumed_at).not.toBeNull();
    // A retry after the wipe still answers from the outbox and sends nothing.
    expect(await activities.sendMail(passwordNotice!)).toMatchObject({ status: 'sent' });
    expect(mailbox.received).toHaveLength(1);
    await testDb.db.raw('pragma wal_checkpoint(TRUNCATE)');
    const dir = path.dirname(testDb.file!);
    for (const f of fs.readdirSync(dir)) {
      const bytes = fs.readFileSync(path.join(dir, f));
      expect(bytes.includes(Buffer.from(alice.enrollmentPassword))).toBe(false);
    }
  });

  it('when the SMTP listener is down, then sendMail throws a retryable failure; when it is back, the mail is delivered exactly once', async () => {
    const [, , guide] = mailsFor(alice, 'unused');
    await mailbox.down();
    for (let attempt = 1; attempt <= 3; attempt++) {
      const failure = await activities.sendMail(guide!).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: 'SmtpUnavailable', nonRetryable: false });
    }
    const pending = await createMailOutboxStore(testDb.db).get(guide!.key);
    expect(pending).toMatchObject({ status: 'pending', attempts: 3 });
    expect(pending!.lastError).toMatch(/ECONNECTION|ECONNREFUSED/);

    await mailbox.up();
    expect(await activities.sendMail(guide!)).toMatchObject({ status: 'sent' });
    expect(await activities.sendMail(guide!)).toMatchObject({ status: 'sent' });
    expect(mailbox.received).toHaveLength(1);
    expect(await createMailOutboxStore(testDb.db).get(guide!.key)).toMatchObject({ status: 'sent', attempts: 4 });
  });

  it('when mails are sent, retried after they settled, delayed by an outage and refused, then the metrics count each outcome once', async () => {
    const metrics = createMetrics({ pendingMails: async () => 0, crls: async () => [] }, { defaultMetrics: false });
    const counted = createMailActivities({ outbox: createMailOutboxStore(testDb.db), secrets, transport, renderer, from, support, metrics });
    const [notice, , guide, renewal, expired] = mailsFor(alice, 'unused');
    expect(await counted.sendMail(notice!)).toMatchObject({ status: 'sent' });
    expect(await counted.sendMail(notice!)).toMatchObject({ status: 'sent' });
    await mailbox.down();
    await expect(counted.sendMail(guide!)).rejects.toMatchObject({ type: 'SmtpUnavailable' });
    await expect(counted.sendMail(guide!)).rejects.toMatchObject({ type: 'SmtpUnavailable' });
    await mailbox.up();
    expect(await counted.sendMail(guide!)).toMatchObject({ status: 'sent' });
    mailbox.refused.add(alice.email);
    expect(await counted.sendMail(renewal!)).toMatchObject({ status: 'failed' });
    expect(await counted.sendMail(renewal!)).toMatchObject({ status: 'failed' });
    expect(await counted.sendMail({ ...expired!, to: 'not-an-address' })).toMatchObject({ status: 'failed' });

    expect(await counterValue(metrics.mailsSent, { kind: 'userIdNotice' })).toBe(1);
    expect(await counterValue(metrics.mailsSent, { kind: 'acquisitionGuide' })).toBe(1);
    expect(await counterValue(metrics.mailAttemptErrors, { kind: 'acquisitionGuide' })).toBe(2);
    expect(await counterValue(metrics.mailsFailed, { kind: 'renewalNotice' })).toBe(1);
    expect(await counterValue(metrics.mailsFailed, { kind: 'requestExpired' })).toBe(1);
    expect(mailbox.received).toHaveLength(2);
  });

  it('when the listener answers 451 for a while, then sendMail is retried and the mail is delivered exactly once', async () => {
    const [, , , renewal] = mailsFor(alice, 'unused');
    mailbox.tempFailure = '4.3.0 mailbox temporarily unavailable';
    await expect(activities.sendMail(renewal!)).rejects.toMatchObject({ type: 'SmtpUnavailable', nonRetryable: false });
    await expect(activities.sendMail(renewal!)).rejects.toMatchObject({ type: 'SmtpUnavailable', nonRetryable: false });
    mailbox.tempFailure = undefined;
    expect(await activities.sendMail(renewal!)).toMatchObject({ status: 'sent' });
    expect(await activities.sendMail(renewal!)).toMatchObject({ status: 'sent' });
    expect(mailbox.received).toHaveLength(1);
  });

  it('when the server refuses the address with 550, then the mail is recorded as failed, listed for admins, and never tried again', async () => {
    const [, , guide] = mailsFor(alice, 'unused');
    mailbox.refused.add(alice.email);
    const result = await activities.sendMail(guide!);
    expect(result).toMatchObject({ status: 'failed', key: guide!.key });
    expect(result.status === 'failed' && result.reason).toMatch(/550/);
    const attemptsSoFar = mailbox.rcptAttempts;
    expect(await activities.sendMail(guide!)).toMatchObject({ status: 'failed' });
    expect(mailbox.rcptAttempts).toBe(attemptsSoFar);
    expect(mailbox.received).toHaveLength(0);
    const failed = await createMailOutboxStore(testDb.db).listFailedMails();
    expect(failed.map((f) => [f.key, f.recipient, f.kind, f.status])).toEqual([[guide!.key, alice.email, 'acquisitionGuide', 'failed']]);
    expect(failed[0]!.lastError).toMatch(/550/);
  });

  it('when a refused password notice is recorded as failed, then its secret is wiped too', async () => {
    const ref = await secrets.seal(alice.enrollmentPassword);
    const [, passwordNotice] = mailsFor(alice, ref);
    mailbox.refused.add(alice.email);
    expect(await activities.sendMail(passwordNotice!)).toMatchObject({ status: 'failed' });
    await expect(secrets.open(ref)).rejects.toThrow(/wiped/);
  });

  it('when a retry starts while the first attempt is still sending (an activity timeout), then it does not send again', async () => {
    const [, , guide] = mailsFor(alice, 'unused');
    mailbox.dataDelayMs = 500;
    const first = activities.sendMail(guide!);
    await new Promise((r) => setTimeout(r, 150));
    await expect(activities.sendMail(guide!)).rejects.toMatchObject({ type: 'MailInFlight', nonRetryable: false });
    expect(await first).toMatchObject({ status: 'sent' });
    expect(await activities.sendMail(guide!)).toMatchObject({ status: 'sent' });
    expect(mailbox.received).toHaveLength(1);
  });

  it('when an attempt died holding the mail before its body went out, then another attempt takes it over once its lease has run out', async () => {
    const [, , guide] = mailsFor(alice, 'unused');
    let now = new Date('2026-11-25T00:00:00Z');
    const clock = () => now;
    const store = createMailOutboxStore(testDb.db, clock);
    const rendered = renderer.render('acquisitionGuide', guide!.params as never, { service: alice.service, support });
    await store.enqueue({ key: guide!.key, kind: 'acquisitionGuide', recipient: guide!.to, subject: rendered.subject, messageId: '<x@y>' });
    expect(await store.claim(guide!.key, 60_000)).toBe(true); // the attempt that then crashed
    const later = createMailActivities({ outbox: store, secrets, transport, renderer, from, support, claimLeaseMs: 60_000 });
    await expect(later.sendMail(guide!)).rejects.toMatchObject({ type: 'MailInFlight' });
    now = new Date(now.getTime() + 61_000);
    expect(await later.sendMail(guide!)).toMatchObject({ status: 'sent' });
    expect(mailbox.received).toHaveLength(1);
  });

  describe('a relay slow to answer (short timeouts stand for the real ones)', () => {
    let slow: Transporter;
    afterEach(() => slow?.close());
    /** An outbox and a transport whose reply timeout is 1 s: a relay answering later leaves the outcome unknown. */
    const withReplyTimeout = (replyTimeoutMs: number, options: { claimLeaseMs?: number; unconfirmedResendAfterMs?: number } = {}) => {
      slow = createSmtpTransport({ host: '127.0.0.1', port: mailbox.port, secure: false, replyTimeoutMs });
      const metrics = createMetrics({ pendingMails: async () => 0, crls: async () => [] }, { defaultMetrics: false });
      const store = createMailOutboxStore(testDb.db);
      return { store, metrics, send: createMailActivities({ outbox: store, secrets, transport: slow, renderer, from, support, metrics, ...options }) };
    };

    it('when the relay answers within the reply timeout, however late, then the mail is sent once in one attempt', async () => {
      const [, , guide] = mailsFor(alice, 'unused');
      const { store, send } = withReplyTimeout(5000, { claimLeaseMs: 600 });
      mailbox.ackDelayMs = 2000;
      expect(await send.sendMail(guide!)).toMatchObject({ status: 'sent' });
      expect(mailbox.received).toHaveLength(1);
      expect(await store.get(guide!.key)).toMatchObject({ status: 'sent', attempts: 1, lastError: null });
    });

    it('when the body went out and no answer came within the reply timeout, then the mail is unconfirmed, not sent again before its wait, and sent again after it with the same Message-ID: the one duplicate left, counted', async () => {
      const [, , guide] = mailsFor(alice, 'unused');
      const { store, metrics, send } = withReplyTimeout(1000, { claimLeaseMs: 300, unconfirmedResendAfterMs: 3000 });
      mailbox.ackDelayMs = 2500;
      const failure = await send.sendMail(guide!).catch((e: unknown) => e);
      expect(failure).toMatchObject({ type: 'MailUnconfirmed', nonRetryable: false });
      // Temporal's next attempt comes when the wait is over, not on the retry policy's short backoff.
      expect((failure as ApplicationFailure).nextRetryDelay).toBeGreaterThan(2000);
      const row = await store.get(guide!.key);
      expect(row).toMatchObject({ status: 'unconfirmed', attempts: 1 });
      expect(row!.lastError).toMatch(/no answer after the body: ETIMEDOUT/);
      expect((await store.listUnconfirmedMails()).map((m) => m.key)).toEqual([guide!.key]);
      expect(await store.countPending()).toBe(1);

      // Retries within the wait send nothing.
      await new Promise((r) => setTimeout(r, 400));
      await expect(send.sendMail(guide!)).rejects.toMatchObject({ type: 'MailUnconfirmed' });
      await new Promise((r) => setTimeout(r, 1100));
      await expect(send.sendMail(guide!)).rejects.toMatchObject({ type: 'MailUnconfirmed' });
      expect(mailbox.received).toHaveLength(1);

      await new Promise((r) => setTimeout(r, 1700));
      mailbox.ackDelayMs = 0;
      expect(await send.sendMail(guide!)).toMatchObject({ status: 'sent' });
      expect(mailbox.received.map((m) => m.parsed.messageId)).toEqual([row!.messageId, row!.messageId]);
      expect(await store.get(guide!.key)).toMatchObject({ status: 'sent', attempts: 2 });
      expect(await counterValue(metrics.mailsUnconfirmed, { kind: 'acquisitionGuide' })).toBe(1);
      expect(await counterValue(metrics.mailsResentUnconfirmed, { kind: 'acquisitionGuide' })).toBe(1);
    });

    it('when the relay is silent before the body (a late answer to RCPT TO), then nothing can have been delivered and the next attempt sends at once', async () => {
      const [, , guide] = mailsFor(alice, 'unused');
      const { store, metrics, send } = withReplyTimeout(1000);
      mailbox.rcptDelayMs = 2000;
      await expect(send.sendMail(guide!)).rejects.toMatchObject({ type: 'SmtpUnavailable' });
      expect(await store.get(guide!.key)).toMatchObject({ status: 'pending', attempts: 1 });
      mailbox.rcptDelayMs = 0;
      expect(await send.sendMail(guide!)).toMatchObject({ status: 'sent' });
      expect(mailbox.received).toHaveLength(1);
      expect(await counterValue(metrics.mailsUnconfirmed, { kind: 'acquisitionGuide' })).toBe(0);
    });

    it('when an attempt outlives its lease waiting on the relay, then it keeps the mail held and a concurrent retry sends nothing', async () => {
      const [, , guide] = mailsFor(alice, 'unused');
      const { send } = withReplyTimeout(10_000, { claimLeaseMs: 600 });
      mailbox.rcptDelayMs = 1500;
      mailbox.ackDelayMs = 1500;
      const first = send.sendMail(guide!);
      // Past the lease before the body, then past it again while the relay holds its answer: held all along.
      await new Promise((r) => setTimeout(r, 1000));
      await expect(send.sendMail(guide!)).rejects.toMatchObject({ type: 'MailInFlight' });
      await new Promise((r) => setTimeout(r, 1500));
      await expect(send.sendMail(guide!)).rejects.toMatchObject({ type: 'MailInFlight' });
      expect(await first).toMatchObject({ status: 'sent' });
      expect(await send.sendMail(guide!)).toMatchObject({ status: 'sent' });
      expect(mailbox.received).toHaveLength(1);
    });

    it('when an attempt died after its body went out, then the mail waits as unconfirmed and is sent again only after the wait', async () => {
      const [, , guide] = mailsFor(alice, 'unused');
      let now = new Date('2026-11-25T00:00:00Z');
      const store = createMailOutboxStore(testDb.db, () => now);
      const rendered = renderer.render('acquisitionGuide', guide!.params as never, { service: alice.service, support });
      await store.enqueue({ key: guide!.key, kind: 'acquisitionGuide', recipient: guide!.to, subject: rendered.subject, messageId: '<x@y>' });
      expect(await store.claim(guide!.key, 60_000)).toBe(true);
      await store.markUnconfirmed(guide!.key, 30 * 60_000); // the body went out, then the worker was killed
      const later = createMailActivities({ outbox: store, secrets, transport, renderer, from, support, claimLeaseMs: 60_000, unconfirmedResendAfterMs: 30 * 60_000, clock: () => now });
      now = new Date(now.getTime() + 29 * 60_000);
      await expect(later.sendMail(guide!)).rejects.toMatchObject({ type: 'MailUnconfirmed' });
      now = new Date(now.getTime() + 61_000);
      expect(await later.sendMail(guide!)).toMatchObject({ status: 'sent' });
      expect(mailbox.received).toHaveLength(1);
      expect(await store.get(guide!.key)).toMatchObject({ status: 'sent', attempts: 2 });
    });
  });

  it('when a value is missing or a link is not http(s), then sendMail fails for good before anything is recorded or sent', async () => {
    const [, , guide] = mailsFor(alice, 'unused');
    const noRequestId = { ...guide!, params: { ...(guide!.params as object), requestId: '' } } as MailRequest;
    await expect(activities.sendMail(noRequestId)).rejects.toMatchObject({ type: 'MailRenderError', nonRetryable: true });
    const badLink = { ...guide!, params: { ...(guide!.params as object), acquisitionUrl: 'javascript:alert(1)' } } as MailRequest;
    await expect(activities.sendMail(badLink)).rejects.toMatchObject({ type: 'MailRenderError', nonRetryable: true });
    expect(await testDb.db('mail_outbox').count({ n: '*' }).first()).toMatchObject({ n: 0 });
    expect(mailbox.received).toHaveLength(0);
  });

  it('when the password reference is unknown, then sendMail fails for good', async () => {
    const [, passwordNotice] = mailsFor(alice, 'sealed_doesnotexist');
    await expect(activities.sendMail(passwordNotice!)).rejects.toMatchObject({ type: 'SealedSecretUnavailable', nonRetryable: true });
  });

  it('when one key is reused for another recipient, then sendMail refuses instead of silently skipping the mail', async () => {
    const [, , guide] = mailsFor(alice, 'unused');
    await activities.sendMail(guide!);
    await expect(activities.sendMail({ ...guide!, to: bob.email })).rejects.toMatchObject({ type: 'MailKeyConflict', nonRetryable: true });
  });

  it('when a value carries markup, then the HTML part shows it escaped and the text part verbatim', async () => {
    const [, , guide] = mailsFor(alice, 'unused');
    const hostile = { ...guide!, params: { ...(guide!.params as object), userId: '<script>alert("x")</script>' } } as MailRequest;
    await activities.sendMail(hostile);
    const { text, html } = partsOf(mailbox.received[0]!);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(text).toContain('<script>alert("x")</script>');
  });

  it('when the recipient address is not an address, then the mail is recorded as failed without contacting the server', async () => {
    const [, , guide] = mailsFor(alice, 'unused');
    expect(await activities.sendMail({ ...guide!, to: 'not-an-address' })).toMatchObject({ status: 'failed' });
    expect(mailbox.rcptAttempts).toBe(0);
    expect((await createMailOutboxStore(testDb.db).listFailedMails()).map((m) => m.key)).toEqual([guide!.key]);
  });
});
