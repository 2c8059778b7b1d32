// Request durations on both listeners of one process, by route pattern: the plain app and the TLS client-auth one.
import { statusQuery } from '../../workflows/definitions';
import { samplesOf, valueOf } from '../support/metrics';
import { readEnrollmentMails, registerUser, startWebHarness, tlsRequest, waitFor, type WebHarness } from './harness';
import { Visitor } from './visitor';

describe('request metrics of the TLS listener', () => {
  let h: WebHarness;

  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('when a user downloads a key and presents it, then /metrics counts the TLS pages under listener="tls" by route pattern, and the plain pages under "http"', async () => {
    const user = await registerUser(h, 'emp901');
    const { password, requestId } = await readEnrollmentMails(h, user);
    const v = new Visitor(h.httpUrl);
    expect((await v.login('kdanshinnet', user.userId, password)).status).toBe(303);
    const pkcs12Password = 'Tls-metrics-pw-1';
    const key = await v.post('/enroll/kdanshinnet/key', { formToken: await v.token('/enroll/kdanshinnet/key'), requestId, password: pkcs12Password, passwordConfirmation: pkcs12Password });
    expect(key.status).toBe(303);
    const download = await v.post('/enroll/kdanshinnet/download', { formToken: await v.token('/enroll/kdanshinnet/download') });
    expect(download.status).toBe(200);
    const pfx = Buffer.from(await download.res.arrayBuffer());
    await waitFor(async () => (await h.env.client.workflow.getHandle(user.workflowId).query(statusQuery)).state === 'active' || undefined, 'the certificate to be active');

    expect((await tlsRequest(h, '/portal/kdanshinnet/', { pfx, passphrase: pkcs12Password })).status).toBe(200);
    expect((await tlsRequest(h, '/renew/kdanshinnet/', { pfx, passphrase: pkcs12Password })).status).toBe(200);
    expect((await tlsRequest(h, '/portal/kdanshinnet/')).status).toBe(403);
    expect((await tlsRequest(h, '/renew/kdanshinnet/')).status).toBe(403);
    expect((await tlsRequest(h, '/renew/kdanshinnet/apply-9f3c')).status).toBe(403);
    expect((await tlsRequest(h, '/no-such-page-7c1e')).status).toBe(404);
    expect((await fetch(`${h.httpUrl}/crl/kdanshinnet.crl`)).status).toBe(200);

    const text = await (await fetch(`${h.httpUrl}/metrics`)).text();
    const count = (labels: Record<string, string>) => valueOf(text, 'certflow_http_request_duration_seconds_count', labels);
    expect(count({ listener: 'tls', method: 'GET', route: '/portal/:profile/', status_class: '2xx' })).toBe(1);
    expect(count({ listener: 'tls', method: 'GET', route: '/portal/:profile/', status_class: '4xx' })).toBe(1);
    expect(count({ listener: 'tls', method: 'GET', route: '/renew/:profile/', status_class: '2xx' })).toBe(1);
    // Refused by the renewal pages' certificate check before any page's route: the mount's pattern.
    expect(count({ listener: 'tls', method: 'GET', route: '/renew/:profile/*', status_class: '4xx' })).toBe(2);
    expect(count({ listener: 'tls', method: 'GET', route: 'unmatched', status_class: '4xx' })).toBe(1);
    expect(count({ listener: 'http', method: 'GET', route: '/crl/:file', status_class: '2xx' })).toBe(1);
    expect(count({ listener: 'http', method: 'POST', route: '/enroll/:profile/download', status_class: '2xx' })).toBe(1);
    expect(count({ listener: 'tls', route: '/enroll/:profile/download' })).toBeUndefined();
    for (const sample of samplesOf(text, 'certflow_http_request_duration_seconds_count')) {
      expect(sample.labels.route).not.toMatch(/kdanshinnet|9f3c|7c1e|emp901/);
    }
    expect(valueOf(text, 'certflow_certificates_issued_total', { profile: 'kdanshinnet' })).toBe(1);
  });
});
