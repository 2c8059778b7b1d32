// Readiness and metrics of a whole certflow on the Temporal dev server, a real SMTP listener and the real PKI: what a
// probe and a Prometheus scrape see through a registration, a key retrieval and download, a revocation, an SMTP
// outage and a lost database.
import { createRequestStore } from '../../stores/requests';
import { Visitor } from '../web/visitor';
import { samplesOf, valueOf } from '../support/metrics';
import { eventually, passwordFromMail, registration, startApiStack, type ApiStack } from './stack';

describe('readiness and metrics of the HTTP process', () => {
  let stack: ApiStack;

  beforeAll(async () => {
    stack = await startApiStack('ops', { database: 'sqlite' });
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
  });

  const readyz = async () => {
    const res = await fetch(`${stack.baseUrl}/readyz`);
    return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, { status: string; reason?: string }> } };
  };
  const scrape = async () => {
    const res = await fetch(`${stack.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };
  const requestCount = (text: string, labels: Record<string, string>) =>
    valueOf(text, 'certflow_http_request_duration_seconds_count', { listener: 'http', ...labels }) ?? 0;

  it('when Temporal, the database and SMTP answer, then /readyz is 200 with each check up and /healthz is 200', async () => {
    expect(await readyz()).toEqual({ status: 200, body: { status: 'up', checks: { temporal: { status: 'up' }, database: { status: 'up' }, smtp: { status: 'up' } } } });
    const live = await fetch(`${stack.baseUrl}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'up' });
  });

  it('when a user is registered, retrieves and downloads the key and is revoked, then /metrics shows the requests by route pattern, one issuance, one revocation, the mails, an empty backlog and each CRL', async () => {
    const user = registration('ops001');
    const registered = await stack.call('POST', '/api/v1/users', { body: user });
    expect(registered.status).toBe(201);
    const requestId: string = registered.body.requestId;
    const mails = await stack.mailsTo(user.email, 2);
    await stack.mailsTo(user.idAdminEmail, 1);
    const password = passwordFromMail(mails.find((m) => (m.parsed.subject ?? '').includes('ログインパスワードのお知らせ'))!);

    const v = new Visitor(stack.baseUrl);
    expect((await v.login('kdanshinnet', user.userId, password)).status).toBe(303);
    const pkcs12Password = 'Ops-pkcs12-pw-1';
    const key = await v.post('/enroll/kdanshinnet/key', { formToken: await v.token('/enroll/kdanshinnet/key'), requestId, password: pkcs12Password, passwordConfirmation: pkcs12Password });
    expect(key.status).toBe(303);
    const download = await v.post('/enroll/kdanshinnet/download', { formToken: await v.token('/enroll/kdanshinnet/download') });
    expect(download.status).toBe(200);
    expect(download.res.headers.get('content-type')).toBe('application/x-pkcs12');
    const requests = createRequestStore(stack.runtime.db);
    await eventually(async () => (await requests.find(requestId))?.status === 'active', 'the request to be active');
    expect((await stack.call('POST', `/api/v1/users/${user.userId}/revoke`, { body: { reason: 'keyCompromise' } })).status).toBe(200);
    await eventually(async () => (await requests.find(requestId))?.status === 'revoked', 'the request to be revoked');
    await stack.mailsTo(user.email, 3);

    const text = await eventually(async () => {
      const t = await scrape();
      return (valueOf(t, 'certflow_mails_sent_total') ?? 0) >= 4 && valueOf(t, 'certflow_mail_outbox_pending') === 0 && t;
    }, 'every mail to be sent');
    // Requests, by the pattern they matched: never a user ID, request ID or profile value in a route label.
    expect(requestCount(text, { method: 'POST', route: '/api/v1/users', status_class: '2xx' })).toBe(1);
    expect(requestCount(text, { method: 'POST', route: '/api/v1/users/:userId/revoke', status_class: '2xx' })).toBe(1);
    expect(requestCount(text, { method: 'GET', route: '/enroll/:profile/login', status_class: '2xx' })).toBe(1);
    expect(requestCount(text, { method: 'POST', route: '/enroll/:profile/login', status_class: '3xx' })).toBe(1);
    expect(requestCount(text, { method: 'GET', route: '/enroll/:profile/key', status_class: '2xx' })).toBe(1);
    expect(requestCount(text, { method: 'POST', route: '/enroll/:profile/key', status_class: '3xx' })).toBe(1);
    expect(requestCount(text, { method: 'POST', route: '/enroll/:profile/download', status_class: '2xx' })).toBe(1);
    expect(requestCount(text, { route: '/readyz' })).toBe(1);
    const routes = samplesOf(text, 'certflow_http_request_duration_seconds_count').map((s) => s.labels.route!);
    for (const route of routes) expect(route).not.toMatch(/ops001|kdanshinnet|\d{15}/);
    // Business counters.
    expect(valueOf(text, 'certflow_certificates_issued_total', { profile: 'kdanshinnet' })).toBe(1);
    expect(valueOf(text, 'certflow_certificates_issued_total', { profile: 'nissay' })).toBe(0);
    expect(valueOf(text, 'certflow_certificates_revoked_total', { profile: 'kdanshinnet', reason: 'keyCompromise' })).toBe(1);
    expect(valueOf(text, 'certflow_mails_sent_total', { kind: 'userIdNotice' })).toBe(1);
    expect(valueOf(text, 'certflow_mails_sent_total', { kind: 'enrollmentPassword' })).toBe(1);
    expect(valueOf(text, 'certflow_mails_sent_total', { kind: 'acquisitionGuide' })).toBe(1);
    expect(valueOf(text, 'certflow_mails_sent_total', { kind: 'certificateRevoked' })).toBe(1);
    expect(valueOf(text, 'certflow_mails_failed_total')).toBeUndefined();
    expect(valueOf(text, 'certflow_mail_outbox_pending')).toBe(0);
    // Each profile's CRL: just signed (the revocation re-signed kdanshinnet's), its next update days ahead.
    for (const profile of ['kdanshinnet', 'nissay']) {
      expect(valueOf(text, 'certflow_crl_age_seconds', { profile })).toBeGreaterThanOrEqual(0);
      expect(valueOf(text, 'certflow_crl_age_seconds', { profile })).toBeLessThan(600);
      expect(valueOf(text, 'certflow_crl_next_update_seconds', { profile })).toBeGreaterThan(86_400);
    }
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
  });

  it('when the SMTP listener goes away, then /readyz names smtp and the backlog grows; when it is back, the backlog drains and /readyz is 200', async () => {
    await stack.mailbox.down();
    try {
      const down = await readyz();
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('down: smtp');
      expect(down.body.checks.smtp).toEqual({ status: 'down', reason: expect.stringMatching(/ECONNREFUSED|connect/) });
      expect(down.body.checks.temporal.status).toBe('up');
      expect(down.body.checks.database.status).toBe('up');

      const user = registration('ops002');
      expect((await stack.call('POST', '/api/v1/users', { body: user })).status).toBe(201);
      await eventually(async () => {
        const t = await scrape();
        return (valueOf(t, 'certflow_mail_outbox_pending') ?? 0) >= 1 && (valueOf(t, 'certflow_mail_attempt_errors_total') ?? 0) >= 1;
      }, 'a mail held back by the outage');
    } finally {
      await stack.mailbox.up();
    }
    // The workflow's retry (5 s, then 10 s…) delivers it.
    await eventually(async () => valueOf(await scrape(), 'certflow_mail_outbox_pending') === 0, 'the backlog to drain', 60_000);
    await stack.mailsTo('ops002@bank.example.co.jp', 2);
    expect((await readyz()).status).toBe(200);
  });

  it('when the database is gone, then /readyz names database, /healthz is still 200 and /metrics still answers with the gauges it cannot read unknown', async () => {
    await stack.runtime.db.destroy();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('down: database');
    expect(down.body.checks.database).toEqual({ status: 'down', reason: expect.any(String) });
    expect((await fetch(`${stack.baseUrl}/healthz`)).status).toBe(200);
    const text = await scrape();
    expect(valueOf(text, 'certflow_mail_outbox_pending')).toBeNaN();
    expect(valueOf(text, 'certflow_crl_age_seconds')).toBeUndefined();
    expect(valueOf(text, 'certflow_certificates_issued_total', { profile: 'kdanshinnet' })).toBe(1);
  });
});
