// The migration import through the support API on each database: a bank's previous CA (made here) registered with its
// CRL, one certificate imported into a request that starts active, the same certificate again answering the same
// request, and each refusal (foreign issuer, expired, revoked on the previous CRL, subject mismatch) registering nobody.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { CertStatus, statusQuery } from '../../workflows/definitions';
import { DATABASE_KINDS } from '../support/databases';
import { createTestPreviousCa, type TestPreviousCa } from '../support/previous-ca';
import { eventually, registration, startApiStack, type ApiStack } from './stack';

const DAY = 86_400_000;

describe.each(DATABASE_KINDS)('the migration import through the support API on %s', (database) => {
  let stack: ApiStack;
  let previous: TestPreviousCa;
  let stranger: TestPreviousCa;
  const now = Date.now();
  const live = { notBefore: new Date(now - 400 * DAY), notAfter: new Date(now + 300 * DAY) };

  beforeAll(async () => {
    stack = await startApiStack('migration', { database });
    previous = await createTestPreviousCa('Bank A Old Client CA');
    stranger = await createTestPreviousCa('Some Other CA');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const putCrl = (fingerprint: string, pem: string, token = stack.tokens.admin) =>
    stack.call('PUT', `/api/v1/previous-cas/kdanshinnet/${fingerprint}/crl`, { token, raw: pem, contentType: 'application/x-pem-file' });
  const importOne = (userId: string, certificatePem: string, overrides: Record<string, unknown> = {}) =>
    stack.call('POST', '/api/v1/imports/certificate', { body: { ...registration(userId), certificatePem, ...overrides } });

  it('when an admin registers the previous CA and its CRL, then it is listed with the CRL; support may not, and a leaf or a CRL of another CA is refused', async () => {
    const trusted = await stack.call('POST', '/api/v1/previous-cas', { body: { profile: 'kdanshinnet', certificatePem: previous.certificatePem } });
    expect(trusted).toMatchObject({ status: 201, body: { profile: 'kdanshinnet', fingerprint: previous.fingerprint, subject: 'CN=Bank A Old Client CA, O=Bank A, C=JP' } });
    expect((await stack.call('POST', '/api/v1/previous-cas', { token: stack.tokens.support, body: { profile: 'kdanshinnet', certificatePem: previous.certificatePem } })).status).toBe(403);
    const leaf = await previous.issue({ userId: 'nobody', ...live });
    expect(await stack.call('POST', '/api/v1/previous-cas', { body: { profile: 'kdanshinnet', certificatePem: leaf.certificatePem } })).toMatchObject({
      status: 400,
      body: { field: 'certificatePem', message: expect.stringMatching(/is not a CA certificate/) },
    });
    expect(await stack.call('POST', '/api/v1/previous-cas', { body: { profile: 'kdanshinnet', certificatePem: 'not a certificate' } })).toMatchObject({ status: 400, body: { field: 'certificatePem' } });

    expect(await putCrl(previous.fingerprint, await stranger.crl([]))).toMatchObject({ status: 400, body: { message: expect.stringMatching(/not signed by the previous CA/) } });
    expect(await putCrl('ab'.repeat(32), await previous.crl([]))).toMatchObject({ status: 404 });
    expect((await putCrl(previous.fingerprint, await previous.crl([]), stack.tokens.support)).status).toBe(403);
    const withCrl = await putCrl(previous.fingerprint, await previous.crl([{ serial: '7abc0001', reason: 'keyCompromise' }, { serial: '7abc0002' }]));
    expect(withCrl).toMatchObject({ status: 200, body: { crl: { revokedCount: 2 } } });

    const listed = await stack.call('GET', '/api/v1/previous-cas?profile=kdanshinnet');
    expect(listed.body).toEqual([expect.objectContaining({ fingerprint: previous.fingerprint, crl: expect.objectContaining({ revokedCount: 2 }) })]);
    expect((await stack.call('GET', '/api/v1/previous-cas?profile=nissay')).body).toEqual([]);
  });

  it('when a live certificate of the previous CA is imported, then its request starts active with its serial and dates, without mail or PEM in the history, and importing it again answers the same request', async () => {
    const issued = await previous.issue({ userId: 'mig001', ...live });
    const first = await importOne('mig001', issued.certificatePem);
    expect(first).toMatchObject({ status: 201, body: { userId: 'mig001', profile: 'kdanshinnet', serial: issued.serial, alreadyImported: false, issuer: 'CN=Bank A Old Client CA, O=Bank A, C=JP' } });
    expect(first.body.notAfter).toBe(new Date(Math.floor(live.notAfter.getTime() / 1000) * 1000).toISOString());

    const handle = stack.env.client.workflow.getHandle(first.body.workflowId);
    expect(await handle.query(statusQuery)).toMatchObject({ state: 'active', kind: 'imported', serial: issued.serial, notAfter: first.body.notAfter });
    expect((await handle.describe()).typedSearchAttributes.get(CertStatus)).toBe('active');
    const user = await eventually(async () => {
      const res = await stack.call('GET', '/api/v1/users/mig001', { token: stack.tokens.support });
      return res.body[0]?.requests[0]?.status === 'active' ? res.body[0] : undefined;
    }, 'the imported request to be recorded active');
    expect(user).toMatchObject({ email: 'mig001@bank.example.co.jp', currentRequestId: first.body.requestId, requests: [{ kind: 'imported', serial: issued.serial, enrollmentPasswordSet: false }] });

    const again = await importOne('mig001', issued.certificatePem);
    expect(again).toMatchObject({ status: 200, body: { requestId: first.body.requestId, alreadyImported: true } });
    expect((await stack.call('GET', '/api/v1/users/mig001', { token: stack.tokens.support })).body[0].requests).toHaveLength(1);

    // The history in full (protobuf bytes, payloads included): it carries the serial, never the certificate.
    const history = Buffer.from(temporal.api.history.v1.History.encode(await handle.fetchHistory()).finish());
    const der = Buffer.from(issued.certificatePem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(history.includes(Buffer.from(issued.serial))).toBe(true);
    expect(history.includes(Buffer.from('BEGIN CERTIFICATE'))).toBe(false);
    expect(history.includes(Buffer.from(issued.certificatePem.split('\n')[1]!.slice(0, 40)))).toBe(false);
    expect(history.includes(der.subarray(0, 64))).toBe(false);
    await new Promise((r) => setTimeout(r, 1500));
    expect(stack.mailbox.received.filter((m) => m.envelopeTo.some((to) => to.includes('mig001')))).toEqual([]);
  });

  it.each([
    ['a foreign issuer', 'mig010', () => stranger.issue({ userId: 'mig010', ...live }), 'certificatePem', /not signed by a previous CA of profile kdanshinnet/],
    ['an expired certificate', 'mig011', () => previous.issue({ userId: 'mig011', notBefore: new Date(now - 1200 * DAY), notAfter: new Date(now - DAY) }), 'certificatePem', /expired on/],
    ['a certificate not yet valid', 'mig012', () => previous.issue({ userId: 'mig012', notBefore: new Date(now + DAY), notAfter: new Date(now + 900 * DAY) }), 'certificatePem', /not valid before/],
    ['a certificate revoked on the previous CRL', 'mig013', () => previous.issue({ userId: 'mig013', serial: '7abc0001', ...live }), 'certificatePem', /on the CRL of the previous CA .*\(keyCompromise\)/],
    ['a certificate of another CN', 'mig014', () => previous.issue({ userId: 'someone-else', ...live }), 'userId', /CN=someone-else does not match userId mig014/],
    ['a certificate of another O', 'mig015', () => previous.issue({ userId: 'mig015', organization: 'otherCompany', ...live }), 'organization', /O=otherCompany does not match/],
    ['a certificate of other OUs', 'mig016', () => previous.issue({ userId: 'mig016', organizationalUnits: ['div9', 'div1'], ...live }), 'organizationalUnits', /OUs .* do not match/],
  ])('when %s is imported, then it is refused with the reason and nobody is registered', async (_what, userId, issue, field, reason) => {
    const issued = await issue();
    expect(await importOne(userId, issued.certificatePem)).toMatchObject({ status: 400, body: { field, message: expect.stringMatching(reason) } });
    expect((await stack.call('GET', `/api/v1/users/${userId}`, { token: stack.tokens.support })).status).toBe(404);
  });

  it('when the user is already registered with other details, then the import is refused and changes nothing', async () => {
    const issued = await previous.issue({ userId: 'mig020', ...live });
    expect((await stack.call('POST', '/api/v1/users', { body: registration('mig020') })).status).toBe(201);
    const res = await importOne('mig020', issued.certificatePem, { email: 'changed@bank.example.co.jp' });
    expect(res).toMatchObject({ status: 409, body: { message: expect.stringMatching(/already registered .* with another email/) } });
    // Same details, but the registration's request is still open.
    expect(await importOne('mig020', issued.certificatePem)).toMatchObject({ status: 409, body: { message: expect.stringMatching(/already has the request \d{15} \(\w+\)/) } });
  });

  it('when an admin revokes an imported certificate, then its request is revoked in certflow', async () => {
    const issued = await previous.issue({ userId: 'mig030', ...live });
    const imported = await importOne('mig030', issued.certificatePem);
    expect(imported.status).toBe(201);
    const revoked = await stack.call('POST', '/api/v1/users/mig030/revoke', { body: { reason: 'affiliationChanged' } });
    expect(revoked).toMatchObject({ status: 200, body: { requestId: imported.body.requestId, status: { state: 'revoked', revocationReason: 'affiliationChanged' } } });
    await stack.mailsTo('mig030@bank.example.co.jp', 1);
  });

  it('when an admin runs `ca trust-previous` with a DER CRL, then the CA and its CRL are registered through the API; support is refused', async () => {
    const other = await createTestPreviousCa('Bank A Second Old CA');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-cli-'));
    const caFile = path.join(dir, 'ca.pem');
    const crlFile = path.join(dir, 'ca.crl');
    fs.writeFileSync(caFile, other.certificatePem);
    fs.writeFileSync(crlFile, Buffer.from((await other.crl([{ serial: '7fff01' }])).replace(/-----[^-]+-----|\s/g, ''), 'base64'));
    const cli = (args: string[], token: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          path.resolve(__dirname, '../../node_modules/.bin/tsx'),
          [path.resolve(__dirname, '../../scripts/certflow-cli.ts'), ...args],
          { env: { ...process.env, CERTFLOW_API_URL: stack.baseUrl, CERTFLOW_API_TOKEN: token } },
          (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
        );
      });
    expect(await cli(['ca', 'trust-previous', 'nissay', caFile, '--crl', crlFile], stack.tokens.support)).toMatchObject({ code: 1, stderr: expect.stringContaining('HTTP 403') });
    const done = await cli(['ca', 'trust-previous', 'nissay', caFile, '--crl', crlFile], stack.tokens.admin);
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(other.fingerprint);
    const listed = await cli(['ca', 'previous', '--profile', 'nissay'], stack.tokens.admin);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ fingerprint: other.fingerprint, crl: expect.objectContaining({ revokedCount: 1 }) })]);
    expect(await cli(['ca', 'trust-previous', 'nissay', path.join(dir, 'missing.pem')], stack.tokens.admin)).toMatchObject({ code: 2, stderr: expect.stringContaining('cannot read') });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // asn1js's default cap (10,000 nodes) used to refuse any CRL past ~1,500 entries; a bank's old CA may list many more.
  it('when the previous CA\'s CRL lists 5,000 serials, then it is taken whole and a certificate listed at its end is refused at import', async () => {
    const big = await createTestPreviousCa('Bank A Large Old CA');
    expect((await stack.call('POST', '/api/v1/previous-cas', { body: { profile: 'kdanshinnet', certificatePem: big.certificatePem } })).status).toBe(201);
    const revoked = Array.from({ length: 5_000 }, (_, i) => ({ serial: (0x7b000000 + i).toString(16) }));
    const res = await putCrl(big.fingerprint, await big.crl(revoked));
    expect(res).toMatchObject({ status: 200, body: { crl: { revokedCount: 5_000 } } });
    const listedLast = await big.issue({ userId: 'mig040', serial: revoked.at(-1)!.serial, ...live });
    expect(await importOne('mig040', listedLast.certificatePem)).toMatchObject({ status: 400, body: { field: 'certificatePem', message: expect.stringMatching(/on the CRL of the previous CA/) } });
    const notListed = await big.issue({ userId: 'mig041', ...live });
    expect((await importOne('mig041', notListed.certificatePem)).status).toBe(201);
  });
});
