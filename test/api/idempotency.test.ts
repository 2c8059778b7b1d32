// Idempotency-Key on the support API: a retry after a lost reply gets the first answer, and the work is done once.
import { requestHash } from '../../api/support/idempotency';
import { verifyEnrollmentPassword } from '../../domain/enrollment-password';
import { statusQuery, certificateWorkflowId } from '../../workflows/definitions';
import { tokyoDay } from '../../workflows/time-rules';
import { holdsAny, secretForms, sqliteBytes } from '../support/secrets';
import { eventually, passwordFromMail, registration, startApiStack, type ApiStack } from './stack';

describe('Idempotency-Key', () => {
  let stack: ApiStack;

  beforeAll(async () => {
    stack = await startApiStack('idempotency', { database: 'sqlite' });
  }, 180_000);
  afterAll(async () => { await stack?.close(); });

  async function post(path: string, body: unknown, key?: string, token = stack.tokens.admin) {
    const res = await fetch(`${stack.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: (await res.json()) as any };
  }

  it('when a registration is sent twice with the same key, then both get the first 201 and the user is registered once', async () => {
    const first = await post('/api/v1/users', registration('idem001'), 'reg-idem001');
    const retry = await post('/api/v1/users', registration('idem001'), 'reg-idem001');
    expect(first.status).toBe(201);
    expect(retry).toEqual({ status: 201, replayed: 'true', body: first.body });
    expect(await stack.runtime.stores.users.findAll('idem001')).toHaveLength(1);
    const audited = await stack.runtime.stores.audit.list({ target: 'user:idem001', action: 'registerUser' });
    expect(audited).toHaveLength(1);
    // Without a key the same call is a second registration, refused as a duplicate.
    expect((await post('/api/v1/users', registration('idem001'))).status).toBe(409);
  });

  it('when a reissue is retried with its key, then the same successor and password come back, one successor exists, and the password is stored nowhere in clear', async () => {
    const registered = await post('/api/v1/users', registration('idem002'));
    expect(registered.status).toBe(201);
    const first = await post('/api/v1/users/idem002/reissue', {}, 'reissue-1', stack.tokens.support);
    const retry = await post('/api/v1/users/idem002/reissue', {}, 'reissue-1', stack.tokens.support);
    expect(first.status).toBe(201);
    expect(retry).toEqual({ status: 201, replayed: 'true', body: first.body });
    const requests = await stack.runtime.stores.requests.list({ userId: 'idem002' });
    expect(requests.filter((r) => r.kind === 'reissue')).toHaveLength(1);
    expect(holdsAny(sqliteBytes(stack.runtime.config.db.connection), secretForms(first.body.enrollmentPassword as string))).toBe(false);
  });

  it('when a refusal is retried with its key, then the same refusal comes back; another request under the key is 422; a bad key is 400', async () => {
    await post('/api/v1/users', registration('idem003'));
    const refused = await post('/api/v1/users', registration('idem003'), 'dup-idem003');
    expect(refused.status).toBe(409);
    expect(await post('/api/v1/users', registration('idem003'), 'dup-idem003')).toEqual({ status: 409, replayed: 'true', body: refused.body });
    const other = await post('/api/v1/users', registration('idem004'), 'dup-idem003');
    expect(other.status).toBe(422);
    expect(other.body.error).toBe('idempotency_key_reused');
    expect(await stack.runtime.stores.users.findAll('idem004')).toEqual([]);
    const bad = await post('/api/v1/users', registration('idem005'), 'bad key with spaces');
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('Idempotency-Key');
  });

  it("when another caller uses the same key, then it is that caller's own key", async () => {
    await post('/api/v1/users', registration('idem006'));
    const admin = await post('/api/v1/users/idem006/unlock', {}, 'shared-key', stack.tokens.admin);
    const support = await post('/api/v1/users/idem006/unlock', {}, 'shared-key', stack.tokens.support);
    expect(admin.status).toBe(200);
    expect(support.status).toBe(200);
    expect(support.replayed).toBeNull();
  });

  /** The key's row as a call killed before its answer leaves it: still pending, its lease run out. */
  const deadClaim = (agent: string, key: string) => stack.runtime.db('idempotency_keys').where({ agent, key }).update({ state: 'pending', status: null, sealed_answer: null, nonce: null, expires_at: 0 });

  it('when a registration is retried with its key after its first call died unanswered once its workflow ran, then the retry gets the same 201, not a 409 for ever', async () => {
    const first = await post('/api/v1/users', registration('idem007'), 'reg-idem007');
    expect(first.status).toBe(201);
    await deadClaim('admin-sato', 'reg-idem007');
    expect(await post('/api/v1/users', registration('idem007'), 'reg-idem007')).toEqual({ status: 201, replayed: null, body: first.body });
    expect(await post('/api/v1/users', registration('idem007'), 'reg-idem007')).toEqual({ status: 201, replayed: 'true', body: first.body });
    expect(await stack.runtime.stores.requests.list({ userId: 'idem007' })).toHaveLength(1);
    // Another registration of the user, under another key, is still a duplicate.
    expect((await post('/api/v1/users', registration('idem007'), 'reg-idem007-again')).status).toBe(409);
  });

  it('when a reissue is retried with its key after its first call died unanswered once the reissue took effect, then the retry answers that successor with a fresh password that works, and no second successor starts', async () => {
    expect((await post('/api/v1/users', registration('idem009'))).status).toBe(201);
    const first = await post('/api/v1/users/idem009/reissue', {}, 'reissue-9', stack.tokens.support);
    expect(first.status).toBe(201);
    await deadClaim('support-tanaka', 'reissue-9');

    const retried = await post('/api/v1/users/idem009/reissue', {}, 'reissue-9', stack.tokens.support);
    expect(retried.status).toBe(201);
    expect(retried.replayed).toBeNull();
    expect({ requestId: retried.body.requestId, workflowId: retried.body.workflowId }).toEqual({ requestId: first.body.requestId, workflowId: first.body.workflowId });
    expect(retried.body.enrollmentPassword).not.toBe(first.body.enrollmentPassword);
    // Then the answer is kept: a third call gets it again.
    expect(await post('/api/v1/users/idem009/reissue', {}, 'reissue-9', stack.tokens.support)).toEqual({ status: 201, replayed: 'true', body: retried.body });

    const requests = await stack.runtime.stores.requests.list({ userId: 'idem009' });
    expect(requests.filter((r) => r.kind === 'reissue').map((r) => r.requestId)).toEqual([first.body.requestId]);
    const successor = (await stack.runtime.stores.requests.find(first.body.requestId))!;
    expect(await verifyEnrollmentPassword(successor.enrollmentPasswordHash, retried.body.enrollmentPassword)).toBe(true);
    expect(await verifyEnrollmentPassword(successor.enrollmentPasswordHash, first.body.enrollmentPassword)).toBe(false);
    expect((await stack.env.client.workflow.getHandle(first.body.workflowId).query(statusQuery)).state).toBe('awaitingKeyRetrieval');
    expect((await stack.runtime.stores.users.findAll('idem009'))[0]!.currentRequestId).toBe(first.body.requestId);
  });

  it('when a reissue is retried with its key after its first call died before the reissue took effect, then the retry reissues once', async () => {
    const registered = await post('/api/v1/users', registration('idem010'));
    expect(registered.status).toBe(201);
    const hash = requestHash('reissue', { originalUrl: '/api/v1/users/idem010/reissue', body: {} });
    await stack.runtime.db('idempotency_keys').insert({ agent: 'support-tanaka', key: 'reissue-10', request_hash: hash, state: 'pending', expires_at: 0 });

    const retried = await post('/api/v1/users/idem010/reissue', {}, 'reissue-10', stack.tokens.support);
    expect(retried.status).toBe(201);
    const requests = await stack.runtime.stores.requests.list({ userId: 'idem010' });
    expect(requests.filter((r) => r.kind === 'reissue').map((r) => r.requestId)).toEqual([retried.body.requestId]);
    expect((await stack.runtime.stores.requests.find(registered.body.requestId))!.successorRequestId).toBe(retried.body.requestId);
  });

  it('when a registration is retried with its key after its first call died between its rows and its workflow, then the retry starts the workflow and the user gets a password that works', async () => {
    const body = registration('idem008');
    // What the dead call left: the user and its reserved request, no workflow, and its claim on the key.
    const now = new Date();
    const requestId = await stack.runtime.stores.requests.nextRequestId(tokyoDay(now.getTime()));
    const workflowId = certificateWorkflowId('kdanshinnet', requestId);
    await stack.runtime.stores.users.insert({ ...body, profile: 'kdanshinnet', currentRequestId: requestId, createdAt: now });
    await stack.runtime.stores.requests.insert({ requestId, userId: 'idem008', profile: 'kdanshinnet', kind: 'new', workflowId, enrollmentPasswordHash: 'lost with the dead call' }, now);
    const hash = requestHash('registerUser', { originalUrl: '/api/v1/users', body });
    await stack.runtime.db('idempotency_keys').insert({ agent: 'admin-sato', key: 'reg-idem008', request_hash: hash, state: 'pending', expires_at: 0 });

    const retried = await post('/api/v1/users', body, 'reg-idem008');
    expect(retried).toEqual({ status: 201, replayed: null, body: { userId: 'idem008', profile: 'kdanshinnet', requestId, workflowId } });
    expect((await stack.env.client.workflow.getHandle(workflowId).query(statusQuery)).state).toBe('awaitingKeyRetrieval');
    const passwordMail = (await stack.mailsTo(body.email, 2)).find((m) => (m.parsed.subject ?? '').includes('ログインパスワードのお知らせ'));
    const request = await eventually(async () => stack.runtime.stores.requests.find(requestId), 'the request');
    expect(await verifyEnrollmentPassword(request.enrollmentPasswordHash, passwordFromMail(passwordMail!))).toBe(true);
    expect(await stack.runtime.stores.requests.list({ userId: 'idem008' })).toHaveLength(1);
  });
});
