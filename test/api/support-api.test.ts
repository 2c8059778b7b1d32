// The support/admin API on the Temporal dev server with the real PKI and a real SMTP listener: API → workflow → database.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import argon2 from 'argon2';
import { Client, Connection } from '@temporalio/client';
import { registerUser, type Registration } from '../../domain';
import { toHttpError } from '../../api/errors';
import { createDomain } from '../../worker/composition';
import { issuanceKey } from '../../activities/certificate-activities';
import { createRequestStore } from '../../stores/requests';
import { createUserStore } from '../../stores/users';
import { CertStatus, CertUserId, downloadConfirmedSignal, retrieveKeyUpdate, statusQuery } from '../../workflows/definitions';
import { DATABASE_KINDS } from '../support/databases';
import { eventually, passwordFromMail, registration, startApiStack, type ApiStack } from './stack';

// Once per database, each run on its own stack (Temporal server included): request IDs, hence workflow IDs, repeat.
describe.each(DATABASE_KINDS)('the support API on %s', (database) => {
  let stack: ApiStack;
  let users: ReturnType<typeof createUserStore>;
  let requests: ReturnType<typeof createRequestStore>;
  let audit: ApiStack['runtime']['stores']['audit'];

  beforeAll(async () => {
    stack = await startApiStack('support', { database });
    users = createUserStore(stack.runtime.db);
    requests = createRequestStore(stack.runtime.db);
    audit = stack.runtime.stores.audit;
  }, 180_000);
  afterAll(async () => { await stack?.close(); });

  const handle = (workflowId: string) => stack.env.client.workflow.getHandle(workflowId);
  const statusOf = async (requestId: string) => (await requests.find(requestId))?.status;
  const reachStatus = (requestId: string, status: string) =>
    eventually(async () => (await statusOf(requestId)) === status, `request ${requestId} to be ${status}`);

  async function register(userId: string, overrides: Record<string, unknown> = {}) {
    const res = await stack.call('POST', '/api/v1/users', { body: registration(userId, overrides) });
    expect(res.status).toBe(201);
    await reachStatus(res.body.requestId, 'awaitingKeyRetrieval');
    return res.body as { userId: string; profile: string; requestId: string; workflowId: string };
  }

  /** What the key retrieval page does: the update, the PKCS#12 with the user's password, the download confirmation. */
  async function activate(userId: string, requestId: string, workflowId: string) {
    await handle(workflowId).executeUpdate(retrieveKeyUpdate);
    const pkcs12 = await stack.runtime.ca.buildPkcs12(issuanceKey(requestId, 1), 'Chosen-by-user-42', { userId });
    await handle(workflowId).signal(downloadConfirmedSignal);
    await reachStatus(requestId, 'active');
    return pkcs12;
  }

  describe('registration', () => {
    it('when an admin registers a user, then the workflow runs, the rows exist and the three guide mails go out', async () => {
      const res = await stack.call('POST', '/api/v1/users', { body: registration('emp002') });

      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        userId: 'emp002',
        profile: 'kdanshinnet',
        requestId: expect.stringMatching(/^\d{15}$/),
        workflowId: `certificate-kdanshinnet-${res.body.requestId}`,
      });
      expect(JSON.stringify(res.body)).not.toMatch(/password/i);

      const description = await handle(res.body.workflowId).describe();
      expect(description.status.name).toBe('RUNNING');
      expect(description.typedSearchAttributes.get(CertUserId)).toBe('emp002');
      await reachStatus(res.body.requestId, 'awaitingKeyRetrieval');
      expect((await handle(res.body.workflowId).describe()).typedSearchAttributes.get(CertStatus)).toBe('awaitingKeyRetrieval');

      const user = await users.find('emp002', 'kdanshinnet');
      expect(user).toMatchObject({ organizationalUnits: ['div1-1-1', 'div1-1', 'div1'], currentRequestId: res.body.requestId });
      const request = (await requests.find(res.body.requestId))!;
      expect(request).toMatchObject({ kind: 'new', userId: 'emp002' });
      expect(request.enrollmentPasswordHash).toMatch(/^\$argon2id\$/);

      const [idNotice] = await stack.mailsTo('id-admin.emp002@bank.example.co.jp', 1);
      expect(idNotice!.parsed.subject).toBe('【団信ネット（3社共用）】ユーザーIDのお知らせ');
      expect(idNotice!.parsed.text).toContain('emp002');
      const userMails = await stack.mailsTo('emp002@bank.example.co.jp', 2);
      const subjects = userMails.map((m) => m.parsed.subject).sort();
      expect(subjects).toEqual(['【団信ネット（3社共用）】クライアント証明書取得のご案内', '【団信ネット（3社共用）】ログインパスワードのお知らせ'].sort());
      const passwordMail = userMails.find((m) => m.parsed.subject!.endsWith('ログインパスワードのお知らせ'))!;
      const password = passwordFromMail(passwordMail);
      expect(password).toMatch(/^[A-Za-z0-9]{12}$/);
      expect(await argon2.verify(request.enrollmentPasswordHash!, password)).toBe(true);
      const guide = userMails.find((m) => m.parsed.subject!.endsWith('取得のご案内'))!;
      expect(guide.parsed.text).toContain(res.body.requestId);

      const events = await audit.list({ target: 'user:emp002' });
      expect(events).toEqual([
        expect.objectContaining({ agent: 'admin-sato', role: 'admin', action: 'registerUser', outcome: 'ok', detail: { profile: 'kdanshinnet', requestId: res.body.requestId } }),
      ]);
    });

    it.each([
      ['userId', { userId: undefined }],
      ['userId', { userId: 'emp 002' }],
      ['profile', { profile: 'other' }],
      ['email', { email: 'not-an-address' }],
      ['idAdminEmail', { idAdminEmail: undefined }],
      ['organization', { organization: 'x'.repeat(65) }],
      ['organization', { organization: ' leading space' }],
      ['organizationalUnits', { organizationalUnits: [] }],
      ['organizationalUnits', { organizationalUnits: Array.from({ length: 11 }, (_, i) => `div${i}`) }],
      ['organizationalUnits[1]', { organizationalUnits: ['div1', 'bad\u0007unit'] }],
      ['organizationalUnits[0]', { organizationalUnits: [''] }],
      ['subscriberId', { subscriberId: 42 }],
    ])('when the field %s is bad or missing, then 400 names it and nothing is created', async (field, override) => {
      const count = async () => [(await stack.runtime.db('users').count({ n: '*' }))[0]!.n, (await stack.runtime.db('requests').count({ n: '*' }))[0]!.n];
      const before = await count();
      const res = await stack.call('POST', '/api/v1/users', { body: { ...registration(`bad-${field.replace(/\W/g, '')}`), ...override } });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'bad_request', field });
      expect(await count()).toEqual(before);
    });

    it('when the body is not JSON, then 400 and no stack trace', async () => {
      const res = await stack.call('POST', '/api/v1/users', { raw: '{"userId":' });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts/);
    });

    it('when the same user is registered twice for a profile, then 409, and the other profile is still open', async () => {
      await register('emp010');
      const again = await stack.call('POST', '/api/v1/users', { body: registration('emp010', { email: 'other@bank.example.co.jp' }) });
      expect(again.status).toBe(409);
      expect(again.body.message).toContain('already registered');
      expect(await requests.list({ userId: 'emp010' })).toHaveLength(1);

      const other = await stack.call('POST', '/api/v1/users', { body: registration('emp010', { profile: 'nissay' }) });
      expect(other.status).toBe(201);
      const both = await stack.call('GET', '/api/v1/users/emp010');
      expect(both.body.map((u: { profile: string }) => u.profile)).toEqual(['kdanshinnet', 'nissay']);

      const ambiguous = await stack.call('POST', '/api/v1/users/emp010/reissue', { token: stack.tokens.support });
      expect(ambiguous).toMatchObject({ status: 400, body: { field: 'profile' } });
      expect((await audit.list({ target: 'user:emp010', action: 'registerUser' })).map((e) => e.outcome)).toEqual(['ok', 'rejected', 'ok']);
    });
  });

  describe('registration when Temporal refuses the start', () => {
    it('when the workflow cannot be started, then 503 and neither the user, the request nor the sealed password is kept', async () => {
      const connection = await Connection.connect({ address: stack.env.address });
      await connection.close();
      const deps = createDomain(stack.runtime, new Client({ connection }));
      const since = new Date();
      const sealedSince = async () => Number((await stack.runtime.db('sealed_secrets').where('created_at', '>=', since).whereNotNull('ciphertext').count({ n: '*' }))[0]!.n);

      const refused = await registerUser(deps, registration('emp099') as Registration).catch((err: unknown) => err);
      expect(refused).toMatchObject({ code: 'unavailable' });
      expect(toHttpError(refused).status).toBe(503);

      expect(await users.findAll('emp099')).toEqual([]);
      expect(await requests.list({ userId: 'emp099' })).toEqual([]);
      // The password was sealed before the start was tried, and wiped when it failed.
      expect(Number((await stack.runtime.db('sealed_secrets').where('created_at', '>=', since).count({ n: '*' }))[0]!.n)).toBe(1);
      expect(await sealedSince()).toBe(0);
    });
  });

  describe('authentication and roles', () => {
    it('when no token or a wrong token is presented, then 401', async () => {
      expect((await stack.call('GET', '/api/v1/certificates', { token: null })).status).toBe(401);
      expect((await stack.call('GET', '/api/v1/certificates', { token: 'x'.repeat(32) })).status).toBe(401);
      expect((await stack.call('POST', '/api/v1/users', { token: `${stack.tokens.admin}x`, body: registration('emp011') })).status).toBe(401);
      expect(await users.findAll('emp011')).toEqual([]);
    });

    it('when support calls an admin action, then 403 and the refusal is audited', async () => {
      const res = await stack.call('POST', '/api/v1/users', { token: stack.tokens.support, body: registration('emp012') });
      expect(res.status).toBe(403);
      expect(await users.findAll('emp012')).toEqual([]);
      expect(await audit.list({ target: 'user:emp012' })).toEqual([
        expect.objectContaining({ agent: 'support-tanaka', role: 'support', action: 'registerUser', outcome: 'rejected', detail: expect.objectContaining({ status: 403 }) }),
      ]);
      expect((await stack.call('GET', '/api/v1/certificates', { token: stack.tokens.support })).status).toBe(403);
      expect((await stack.call('GET', '/api/v1/mails/failed', { token: stack.tokens.support })).status).toBe(403);
      expect((await stack.call('POST', '/api/v1/users/emp002/revoke', { token: stack.tokens.support, body: { reason: 'keyCompromise' } })).status).toBe(403);
    });
  });

  describe('unknown IDs', () => {
    it.each([
      ['POST', '/api/v1/users/nobody/reissue', undefined],
      ['POST', '/api/v1/users/nobody/revoke', { reason: 'unspecified' }],
      ['POST', '/api/v1/users/nobody/new-request', undefined],
      ['POST', '/api/v1/users/nobody/unlock', undefined],
      ['POST', '/api/v1/requests/209901010000001/password-reset', undefined],
      ['GET', '/api/v1/users/nobody', undefined],
      ['GET', '/api/v1/requests/209901010000001', undefined],
    ] as Array<[string, string, unknown]>)('when %s %s names nobody, then 404', async (method, url, body) => {
      const res = await stack.call(method, url, { body });
      expect(res.status).toBe(404);
      expect(res.body.error).toBe('not_found');
    });

    it('when a path ID is malformed, then 400 naming it', async () => {
      expect(await stack.call('GET', '/api/v1/requests/12ab')).toMatchObject({ status: 400, body: { field: 'requestId' } });
      expect(await stack.call('POST', '/api/v1/users/a%20b/reissue')).toMatchObject({ status: 400, body: { field: 'userId' } });
    });
  });

  describe('reissue', () => {
    it('when support reissues an active certificate, then it is revoked, a successor starts with a new password, and both are audited', async () => {
      const first = await register('emp020');
      const firstPassword = passwordFromMail((await stack.mailsTo('emp020@bank.example.co.jp', 2)).find((m) => m.parsed.subject!.endsWith('パスワードのお知らせ'))!);
      await activate('emp020', first.requestId, first.workflowId);
      const serial = (await handle(first.workflowId).query(statusQuery)).serial!;

      const res = await stack.call('POST', '/api/v1/users/emp020/reissue', { token: stack.tokens.support, body: {} });

      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        requestId: expect.stringMatching(/^\d{15}$/),
        workflowId: `certificate-kdanshinnet-${res.body.requestId}`,
        enrollmentPassword: expect.stringMatching(/^[A-Za-z0-9]{12}$/),
      });
      expect(res.body.enrollmentPassword).not.toBe(firstPassword);
      const old = await handle(first.workflowId).query(statusQuery);
      expect(old).toMatchObject({ state: 'revoked', revocationReason: 'superseded', successorWorkflowId: res.body.workflowId });
      expect(await stack.runtime.ca.status(serial)).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });

      await reachStatus(res.body.requestId, 'awaitingKeyRetrieval');
      const successor = (await requests.find(res.body.requestId))!;
      expect(successor).toMatchObject({ kind: 'reissue', predecessorRequestId: first.requestId });
      expect(await argon2.verify(successor.enrollmentPasswordHash!, res.body.enrollmentPassword)).toBe(true);
      expect((await users.find('emp020', 'kdanshinnet'))!.currentRequestId).toBe(res.body.requestId);
      expect((await handle(res.body.workflowId).query(statusQuery)).predecessorWorkflowId).toBe(first.workflowId);
      const mails = await stack.mailsTo('emp020@bank.example.co.jp', 4);
      expect(mails.map((m) => m.parsed.subject)).toEqual(
        expect.arrayContaining(['【団信ネット（3社共用）】クライアント証明書再発行準備完了のお知らせ']),
      );
      // The reissue's password goes by phone only: no mail carries it.
      expect(mails.some((m) => m.raw.includes(res.body.enrollmentPassword))).toBe(false);

      const events = await audit.list({ target: 'user:emp020', action: 'reissue' });
      expect(events).toEqual([
        expect.objectContaining({
          agent: 'support-tanaka',
          outcome: 'ok',
          detail: { profile: 'kdanshinnet', predecessorRequestId: first.requestId, requestId: res.body.requestId },
        }),
      ]);
      expect(JSON.stringify(events)).not.toContain(res.body.enrollmentPassword);
    });

    it('when the current request is revoked, then a reissue is 409 with the reason and no request is left behind', async () => {
      const first = await register('emp021');
      const revoked = await stack.call('POST', '/api/v1/users/emp021/revoke', { body: { reason: 'affiliationChanged' } });
      expect(revoked.status).toBe(200);
      expect(revoked.body.status).toMatchObject({ state: 'revoked', revocationReason: 'affiliationChanged' });
      await reachStatus(first.requestId, 'revoked');

      const res = await stack.call('POST', '/api/v1/users/emp021/reissue', { token: stack.tokens.support });
      expect(res.status).toBe(409);
      expect(res.body.message).toMatch(/revoked/);
      expect(await requests.list({ userId: 'emp021' })).toHaveLength(1);
      expect((await audit.list({ target: 'user:emp021', action: 'reissue' }))[0]).toMatchObject({ outcome: 'rejected', detail: { status: 409 } });
    });
  });

  describe('revoke', () => {
    it('when an admin revokes an active certificate with a reason, then the CRL lists it; a second revoke is 409; a bad reason is 400', async () => {
      const first = await register('emp030');
      await activate('emp030', first.requestId, first.workflowId);
      expect(await stack.call('POST', '/api/v1/users/emp030/revoke', { body: { reason: 'stolen' } })).toMatchObject({ status: 400, body: { field: 'reason' } });
      expect(await stack.call('POST', '/api/v1/users/emp030/revoke', { body: {} })).toMatchObject({ status: 400, body: { field: 'reason' } });

      const res = await stack.call('POST', '/api/v1/users/emp030/revoke', { body: { reason: 'keyCompromise', profile: 'kdanshinnet' } });
      expect(res.status).toBe(200);
      expect(await stack.runtime.ca.status(res.body.status.serial)).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
      await reachStatus(first.requestId, 'revoked');
      const revokedMail = await eventually(
        async () => stack.mailbox.received.find((m) => m.envelopeTo.includes('emp030@bank.example.co.jp') && m.parsed.subject!.endsWith('失効のお知らせ')),
        'the revocation mail',
      );
      expect(revokedMail.parsed.text).toContain(first.requestId);

      const again = await stack.call('POST', '/api/v1/users/emp030/revoke', { body: { reason: 'keyCompromise' } });
      expect(again.status).toBe(409);
      expect(again.body.message).toMatch(/revoked/);
    });
  });

  describe('password reset and unlock', () => {
    /** Failed logins under the ID, the next attempt an hour away (what the login throttle writes). */
    const delayLogins = (userId: string) =>
      stack.runtime.stores.loginFailures.record(userId, undefined, { failures: 9, lastFailureAt: new Date(), waitUntil: new Date(Date.now() + 3_600_000) });
    it('when support resets the password of a request awaiting retrieval, then only the new password opens it and the lock is lifted', async () => {
      const first = await register('emp040');
      await delayLogins('emp040');
      expect((await users.find('emp040', 'kdanshinnet'))!.lockedUntil).toBeDefined();
      const before = (await requests.find(first.requestId))!.enrollmentPasswordHash!;

      const res = await stack.call('POST', `/api/v1/requests/${first.requestId}/password-reset`, { token: stack.tokens.support });

      expect(res.status).toBe(200);
      expect(res.body).toEqual({ requestId: first.requestId, enrollmentPassword: expect.stringMatching(/^[A-Za-z0-9]{12}$/) });
      const after = (await requests.find(first.requestId))!.enrollmentPasswordHash!;
      expect(after).not.toBe(before);
      expect(await argon2.verify(after, res.body.enrollmentPassword)).toBe(true);
      expect(await argon2.verify(before, res.body.enrollmentPassword)).toBe(false);
      expect(await users.find('emp040', 'kdanshinnet')).toMatchObject({ failedLogins: 0, lockedUntil: undefined });
      expect((await audit.list({ target: `request:${first.requestId}` }))[0]).toMatchObject({ action: 'passwordReset', outcome: 'ok', detail: { userId: 'emp040', profile: 'kdanshinnet' } });
    });

    it('when the request is past key retrieval, then a password reset is 409', async () => {
      const first = await register('emp041');
      await activate('emp041', first.requestId, first.workflowId);
      const res = await stack.call('POST', `/api/v1/requests/${first.requestId}/password-reset`, { token: stack.tokens.support });
      expect(res.status).toBe(409);
      expect(res.body.message).toContain('active');
    });

    it('when support unlocks a user whose logins are delayed, then the failures and the wait are cleared', async () => {
      await register('emp042');
      await delayLogins('emp042');
      const res = await stack.call('POST', '/api/v1/users/emp042/unlock', { token: stack.tokens.support });
      expect(res).toMatchObject({ status: 200, body: { userId: 'emp042' } });
      expect(await users.find('emp042', 'kdanshinnet')).toMatchObject({ failedLogins: 0, lockedUntil: undefined });
    });
  });

  describe('new request', () => {
    it('when the current request is still live, then 409; after it is revoked, a fresh request starts and its password is mailed', async () => {
      const first = await register('emp050');
      const early = await stack.call('POST', '/api/v1/users/emp050/new-request', { token: stack.tokens.support });
      expect(early.status).toBe(409);
      expect(early.body.message).toContain('awaitingKeyRetrieval');

      await stack.call('POST', '/api/v1/users/emp050/revoke', { body: { reason: 'unspecified' } });
      await reachStatus(first.requestId, 'revoked');
      const res = await stack.call('POST', '/api/v1/users/emp050/new-request', { token: stack.tokens.support, body: { profile: 'kdanshinnet' } });

      expect(res.status).toBe(201);
      expect(res.body).toEqual({ requestId: expect.stringMatching(/^\d{15}$/), workflowId: `certificate-kdanshinnet-${res.body.requestId}` });
      await reachStatus(res.body.requestId, 'awaitingKeyRetrieval');
      expect(await requests.find(res.body.requestId)).toMatchObject({ kind: 'new', predecessorRequestId: first.requestId });
      expect((await users.find('emp050', 'kdanshinnet'))!.currentRequestId).toBe(res.body.requestId);
      const mails = await stack.mailsTo('emp050@bank.example.co.jp', 4);
      const passwordMails = mails.filter((m) => m.parsed.subject!.endsWith('パスワードのお知らせ'));
      expect(passwordMails).toHaveLength(2);
      expect(await argon2.verify((await requests.find(res.body.requestId))!.enrollmentPasswordHash!, passwordFromMail(passwordMails[1]!))).toBe(true);
      // The ID administrator heard of the user once, at registration.
      expect(stack.mailbox.received.filter((m) => m.envelopeTo.includes('id-admin.emp050@bank.example.co.jp'))).toHaveLength(1);
    });
  });

  describe('reading', () => {
    it('when support reads a running request, then it sees the projection and the live status, never the hash', async () => {
      const first = await register('emp060');
      const res = await stack.call('GET', `/api/v1/requests/${first.requestId}`, { token: stack.tokens.support });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ requestId: first.requestId, status: 'awaitingKeyRetrieval', enrollmentPasswordSet: true, live: { state: 'awaitingKeyRetrieval' } });
      expect(res.body.live.refusalReason).toBeDefined();
      expect(JSON.stringify(res.body)).not.toContain('argon2');
      const user = await stack.call('GET', '/api/v1/users/emp060?profile=kdanshinnet', { token: stack.tokens.support });
      expect(user.body).toEqual([expect.objectContaining({ userId: 'emp060', requests: [expect.objectContaining({ requestId: first.requestId })] })]);
      expect(JSON.stringify(user.body)).not.toContain('argon2');
    });

    it('when an admin lists certificates by status, profile and expiry, then the projection answers; a bad filter is 400 naming it', async () => {
      const first = await register('emp070');
      await activate('emp070', first.requestId, first.workflowId);
      const active = await stack.call('GET', '/api/v1/certificates?status=active&profile=kdanshinnet');
      expect(active.status).toBe(200);
      expect(active.body.map((r: { requestId: string }) => r.requestId)).toContain(first.requestId);
      expect(active.body.every((r: { status: string }) => r.status === 'active')).toBe(true);

      const in4years = new Date(Date.now() + 4 * 365 * 86_400_000).toISOString();
      const expiringSoon = await stack.call('GET', `/api/v1/certificates?expiringBefore=${encodeURIComponent(in4years)}`);
      expect(expiringSoon.body.map((r: { requestId: string }) => r.requestId)).toContain(first.requestId);
      const expiringNow = await stack.call('GET', `/api/v1/certificates?expiringBefore=${new Date().toISOString().slice(0, 10)}`);
      expect(expiringNow.body.map((r: { requestId: string }) => r.requestId)).not.toContain(first.requestId);

      expect(await stack.call('GET', '/api/v1/certificates?status=bogus')).toMatchObject({ status: 400, body: { field: 'status' } });
      expect(await stack.call('GET', '/api/v1/certificates?expiringBefore=soon')).toMatchObject({ status: 400, body: { field: 'expiringBefore' } });
      expect(await stack.call('GET', '/api/v1/certificates?profile=x')).toMatchObject({ status: 400, body: { field: 'profile' } });
    });

    it('when a mail is refused for good, then the admin sees it among the failed mails', async () => {
      stack.mailbox.refused.add('emp080@bank.example.co.jp');
      await register('emp080');
      const failed = await eventually(async () => {
        const res = await stack.call('GET', '/api/v1/mails/failed');
        const mine = res.body.filter((m: { recipient: string }) => m.recipient === 'emp080@bank.example.co.jp');
        return mine.length === 2 && mine;
      }, 'two failed mails for emp080');
      expect(failed.map((m: { kind: string }) => m.kind).sort()).toEqual(['acquisitionGuide', 'enrollmentPassword']);
    });
  });

  describe('the support CLI', () => {
    /** With a token, the CLI uses it; with a data directory instead, the dev token of the role the API's document names. */
    const cli = (args: string[], credentials: string | { dataDir: string }) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const { CERTFLOW_API_TOKEN: _, ...env } = process.env;
        execFile(
          path.resolve(__dirname, '../../node_modules/.bin/tsx'),
          [path.resolve(__dirname, '../../scripts/certflow-cli.ts'), ...args],
          {
            env: {
              ...env,
              CERTFLOW_API_URL: stack.baseUrl,
              ...(typeof credentials === 'string' ? { CERTFLOW_API_TOKEN: credentials } : { CERTFLOW_DATA_DIR: credentials.dataDir }),
            },
          },
          (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
        );
      });

    it('when an agent reissues from the CLI, then it prints the new request and password; an unknown user exits 1 with the 404', async () => {
      const first = await register('emp090');
      const done = await cli(['reissue', 'emp090', '--profile', 'kdanshinnet'], stack.tokens.support);
      expect(done.code).toBe(0);
      const printed = JSON.parse(done.stdout);
      expect(printed).toEqual({ requestId: expect.stringMatching(/^\d{15}$/), workflowId: expect.any(String), enrollmentPassword: expect.any(String) });
      expect((await requests.find(printed.requestId))!.predecessorRequestId).toBe(first.requestId);

      const missing = await cli(['show', 'user', 'nobody'], stack.tokens.support);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('HTTP 404');
      const forbidden = await cli(['list', 'certificates', '--status', 'active'], stack.tokens.support);
      expect(forbidden).toMatchObject({ code: 1, stderr: expect.stringContaining('HTTP 403') });
    });

    it('when no token is given, then the CLI takes the dev token of the role the API document states for the command', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-cli-'));
      const apiTokens = [
        { token: stack.tokens.support, role: 'support', agent: 'support-tanaka' },
        { token: stack.tokens.admin, role: 'admin', agent: 'admin-sato' },
      ];
      fs.writeFileSync(path.join(dataDir, 'dev-secrets.json'), JSON.stringify({ CERTFLOW_API_TOKENS: JSON.stringify(apiTokens) }));
      try {
        await register('emp091');
        // unlock is a support operation: the support token, as the audit row shows; the list is admin's.
        expect(await cli(['unlock', 'emp091'], { dataDir })).toMatchObject({ code: 0 });
        expect((await audit.list({ target: 'user:emp091', action: 'unlock' }))[0]).toMatchObject({ agent: 'support-tanaka', outcome: 'ok' });
        expect(await cli(['list', 'certificates', '--status', 'active'], { dataDir })).toMatchObject({ code: 0 });
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});
