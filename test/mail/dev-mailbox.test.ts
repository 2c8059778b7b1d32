// The dev mailbox `npm start` runs: a mail sent by the activity shows up on MailDev's web side.
import { createMailActivities, createMailOutboxStore, createMailRenderer, createSealedSecrets, createSmtpTransport } from '../../engines/mail';
import { startDevMailbox, type DevMailbox } from '../../worker/dev-mailbox';
import { createTestDb, dataKey, kdanshinnet, support } from './support';

describe('the dev mailbox', () => {
  let mailbox: DevMailbox;
  beforeAll(async () => {
    mailbox = await startDevMailbox({ smtpPort: 0, webPort: 0 });
  });
  afterAll(async () => {
    await mailbox?.stop();
  });

  it('when the guide mail is sent to it, then its web API lists the mail with the link to the app', async () => {
    const testDb = await createTestDb();
    const transport = createSmtpTransport({ host: '127.0.0.1', port: mailbox.smtpPort, secure: false });
    try {
      const activities = createMailActivities({
        outbox: createMailOutboxStore(testDb.db),
        secrets: createSealedSecrets({ db: testDb.db, dataKey }),
        transport,
        renderer: await createMailRenderer(),
        from: 'danshinnet-sc@nissay-it.co.jp',
        support,
      });
      await activities.sendMail({
        key: 'certificate-kdanshinnet-202611250000001:acquisitionGuide',
        kind: 'acquisitionGuide',
        to: 'emp002@bank-a.example.jp',
        service: kdanshinnet,
        params: { acquisitionUrl: 'http://localhost:3000/enroll/kdanshinnet', requestId: '202611250000001', userId: 'emp002', validUntil: '2026-12-25T03:00:00Z' },
      });
      expect(mailbox.webUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      // MailDev stores the mail after the SMTP reply: poll its list for a moment.
      let body = '[]';
      for (let i = 0; i < 50 && body === '[]'; i++) {
        const res = await fetch(new URL('email', mailbox.webUrl));
        expect(res.status).toBe(200);
        body = JSON.stringify(await res.json());
        if (body === '[]') await new Promise((r) => setTimeout(r, 100));
      }
      expect(body).toContain('【団信ネット（3社共用）】クライアント証明書取得のご案内');
      expect(body).toContain('http://localhost:3000/enroll/kdanshinnet');
    } finally {
      transport.close();
      await testDb.destroy();
    }
  });
});
