// The support console's JSON routes over the real domain, stores, CA and mail engine (the workflow gateway is the
// fixture's fake): roles, 400s naming the field, the audit row of a resend, PEM and DER bodies for diagnose; every
// answer checked against the OpenAPI document.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import { createApp } from '../../api/app';
import { createSupportRouter, supportApiDocument } from '../../api/support/router';
import { createLogger } from '../../infra/logger';
import { forEachDatabase } from '../support/databases';
import { createDomainFixture, issueFor, type DomainFixture } from '../support/domain-fixture';
import { createContractRecorder } from './contract-recorder';
import { listenOnLoopback } from '../support/listen';

const DAY = 86_400_000;
const tokens = { admin: crypto.randomBytes(24).toString('base64url'), support: crypto.randomBytes(24).toString('base64url') };

forEachDatabase('the console API routes', (database) => {
  let f: DomainFixture;
  let server: Server;
  let baseUrl: string;
  let certificatePem: string;
  const iso = (days: number) => new Date(f.now.getTime() + days * DAY).toISOString();
  const contract = createContractRecorder(supportApiDocument());

  async function call(method: string, urlPath: string, o: { token?: string; body?: string | Buffer; type?: string } = {}) {
    const headers: Record<string, string> = { authorization: `Bearer ${o.token ?? tokens.support}` };
    if (o.type) headers['content-type'] = o.type;
    const res = await fetch(`${baseUrl}/api/v1${urlPath}`, { method, headers, body: o.body });
    const text = await res.text();
    contract.record(method, `/api/v1${urlPath}`, res.status, res.headers.get('content-type'), text);
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  beforeAll(async () => {
    f = await createDomainFixture(database.db);
    const app = createApp({
      logger: createLogger('silent'),
      ops: { checks: {}, registry: new Registry() },
      routers: [createSupportRouter({ ...f.deps, apiTokens: [{ token: tokens.admin, role: 'admin', agent: 'admin-sato' }, { token: tokens.support, role: 'support', agent: 'support-tanaka' }] })],
    });
    ({ server, baseUrl } = await listenOnLoopback(app));

    await f.addUser('api001', { email: 'api001@bank.example.co.jp', organization: 'Nissay 100%' });
    const cert = await issueFor(f, { userId: 'api001', requestId: '202611250000801', notBefore: new Date(f.now.getTime() - DAY), notAfter: new Date(f.now.getTime() + 10 * DAY) });
    certificatePem = cert.certificatePem;
    const { workflowId } = await f.addRequest({ userId: 'api001', requestId: '202611250000801', createdAt: new Date(f.now.getTime() - 30 * DAY),
      snapshot: { state: 'active', serial: cert.serial, notBefore: iso(-1), notAfter: iso(10), guideExpiresAt: iso(-1) } });
    await f.outbox.enqueue({ key: `${workflowId}:acquisition-guide`, kind: 'acquisitionGuide', recipient: 'api001@bank.example.co.jp', subject: 's', messageId: '<m1>' });
    await f.outbox.markFailed(`${workflowId}:acquisition-guide`, '550 5.1.1 no such user');
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await f?.close();
    contract.assertExercised(__filename);
  });

  test('when searching and listing, then the rows come back as JSON; bad query values are 400s naming the field', async () => {
    const found = await call('GET', '/search?text=nissay%20100%25&field=organization');
    expect(found).toMatchObject({ status: 200, body: [{ userId: 'api001', requestId: '202611250000801', status: 'active', notAfter: iso(10) }] });
    expect((await call('GET', '/search?text=%25')).body.map((r: { userId: string }) => r.userId)).toEqual(['api001']);
    expect((await call('GET', '/certificates/expiring?days=10')).body.map((r: { requestId: string }) => r.requestId)).toEqual(['202611250000801']);
    expect((await call('GET', '/certificates/expiring?days=9')).body).toEqual([]);
    expect((await call('GET', '/requests/awaiting-retrieval?days=1')).body).toEqual([]);
    expect(await call('GET', '/search')).toMatchObject({ status: 400, body: { field: 'text' } });
    expect(await call('GET', '/search?text=x&field=name')).toMatchObject({ status: 400, body: { field: 'field' } });
    expect(await call('GET', '/search?text=x&limit=501')).toMatchObject({ status: 400, body: { field: 'limit' } });
    expect(await call('GET', '/certificates/expiring')).toMatchObject({ status: 400, body: { field: 'days' } });
    expect(await call('GET', '/certificates/expiring?days=ten')).toMatchObject({ status: 400, body: { field: 'days' } });
    expect(await call('GET', '/audit?from=yesterday', { token: tokens.admin })).toMatchObject({ status: 400, body: { field: 'from' } });
    expect(await call('GET', '/search?text=x', { token: 'wrong' })).toMatchObject({ status: 401 });
  });

  test('when a user\'s timeline is asked for, then it lists the request and its failed mail; an unknown user is 404', async () => {
    const res = await call('GET', '/users/api001/timeline');
    expect(res.status).toBe(200);
    expect(res.body[0]).toMatchObject({ profile: 'kdanshinnet', portal: { admitted: true, requestId: '202611250000801' }, requests: [{ requestId: '202611250000801', mails: [{ event: 'acquisition-guide', status: 'failed' }] }] });
    expect(await call('GET', '/users/nobody/timeline')).toMatchObject({ status: 404 });
    expect(await call('GET', '/users/bad%20id/timeline')).toMatchObject({ status: 400, body: { field: 'userId' } });
  });

  test('when a certificate is posted as PEM text, DER or JSON, then the diagnosis names its owner; garbage is a 400', async () => {
    const pem = await call('POST', '/diagnose', { body: certificatePem, type: 'application/x-pem-file' });
    expect(pem).toMatchObject({ status: 200, body: { owner: { userId: 'api001', requestId: '202611250000801' }, issuedBy: { profile: 'kdanshinnet' }, verdict: { admitted: true } } });
    const der = await call('POST', '/diagnose', { body: Buffer.from(new crypto.X509Certificate(certificatePem).raw), type: 'application/pkix-cert' });
    expect(der.body).toEqual(pem.body);
    expect((await call('POST', '/diagnose', { body: JSON.stringify({ certificate: certificatePem }), type: 'application/json' })).body).toEqual(pem.body);
    expect(await call('POST', '/diagnose', { body: 'hello', type: 'text/plain' })).toMatchObject({ status: 400, body: { field: 'certificate' } });
    expect(await call('POST', '/diagnose', { body: 'x=1', type: 'application/x-www-form-urlencoded' })).toMatchObject({ status: 400, body: { field: 'certificate' } });
    expect(await call('POST', '/diagnose', { body: Buffer.alloc(70 * 1024, 0x41), type: 'application/octet-stream' })).toMatchObject({ status: 413 });
  });

  test('when a failed mail is resent, then it goes out, the audit row names the agent, a second resend is a 409; support may not read the audit', async () => {
    const key = 'certificate-kdanshinnet-202611250000801:acquisition-guide';
    const res = await call('POST', `/mails/${encodeURIComponent(key)}/resend`);
    expect(res).toMatchObject({ status: 200, body: { key, resendKey: `${key}:resend`, status: 'sent', resentBy: 'support-tanaka' } });
    expect(await call('POST', `/mails/${encodeURIComponent(key)}/resend`)).toMatchObject({ status: 409, body: { message: expect.stringContaining('resent already') } });
    expect(await call('POST', '/mails/nothing-here/resend')).toMatchObject({ status: 404 });

    expect(await call('GET', '/audit')).toMatchObject({ status: 403 });
    const trail = await call('GET', `/audit?action=resendMail&target=${encodeURIComponent(`mail:${key}`)}`, { token: tokens.admin });
    expect(trail.body.map((e: { outcome: string; agent: string }) => `${e.agent} ${e.outcome}`)).toEqual(['support-tanaka rejected', 'support-tanaka ok']);
    expect(trail.body[1].detail).toEqual({ resendKey: `${key}:resend`, kind: 'acquisitionGuide', status: 'sent' });
    expect((await call('GET', '/audit?target=mail%3Acertificate-kdanshinnet-&targetPrefix=true&agent=support-tanaka', { token: tokens.admin })).body).toHaveLength(2);
  });

  test('when an agent uses the CLI, then search, diagnose, the lists and resend-mail reach these routes; a refusal exits 1', async () => {
    const cli = (args: string[], token = tokens.support) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(path.resolve(__dirname, '../../node_modules/.bin/tsx'), [path.resolve(__dirname, '../../scripts/certflow-cli.ts'), ...args],
          { env: { ...process.env, CERTFLOW_API_URL: baseUrl, CERTFLOW_API_TOKEN: token } },
          (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }));
      });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-cli-')), 'user.cer');
    fs.writeFileSync(file, new crypto.X509Certificate(certificatePem).raw);
    const [search, diagnose, expiring, audit, resend] = await Promise.all([
      cli(['search', 'API001@bank', '--field', 'email']),
      cli(['diagnose', file]),
      cli(['list', 'expiring', '--days', '30', '--limit', '5']),
      cli(['list', 'audit', '--target', 'mail:certificate-', '--target-prefix', '--action', 'resendMail'], tokens.admin),
      cli(['resend-mail', 'certificate-kdanshinnet-209901010000001:acquisition-guide']),
    ]);
    expect(JSON.parse(search.stdout).map((r: { userId: string }) => r.userId)).toEqual(['api001']);
    expect(JSON.parse(diagnose.stdout)).toMatchObject({ owner: { userId: 'api001' }, verdict: { admitted: true } });
    expect(JSON.parse(expiring.stdout).map((r: { requestId: string }) => r.requestId)).toEqual(['202611250000801']);
    expect(JSON.parse(audit.stdout).every((e: { action: string; target: string }) => e.action === 'resendMail' && e.target.startsWith('mail:certificate-'))).toBe(true);
    expect(resend).toMatchObject({ code: 1, stderr: expect.stringContaining('HTTP 404') });
    expect(await cli(['list', 'expiring'])).toMatchObject({ code: 2, stderr: expect.stringContaining('missing --days') });
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }, 60_000);
});
