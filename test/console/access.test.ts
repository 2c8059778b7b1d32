// Who the console admits, over node's https with and without client certificates: an enabled operator's certificate
// (role from the database), and refusal pages for a user's certificate, no certificate, a revoked operator and a
// disabled one; the operator CLI and routes; the users' API and the portal gate keep to the users' profiles.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { OPERATOR_DISABLE_REASON } from '../../domain';
import { revokeUpdate } from '../../workflows/definitions';
import { tlsRequest, waitFor } from '../web/harness';
import { activeUser, enrollOperator, startConsoleHarness, type ConsoleHarness, type Obtained } from './support';

describe('the console admits only enabled operators', () => {
  let h: ConsoleHarness;
  let admin: Obtained;
  let support: Obtained;
  let user: Obtained;

  beforeAll(async () => {
    h = await startConsoleHarness();
    // Bootstrap: the first admin with the configuration's admin token, then an agent.
    admin = await enrollOperator(h, 'admin01', 'admin');
    support = await enrollOperator(h, 'agent07', 'support');
    user = await activeUser(h, 'emp300');
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const as = (who: Obtained | undefined, p: string, extra: { method?: string; body?: string; cookie?: string } = {}) =>
    tlsRequest(h, p, { ...(who ? { pfx: who.pkcs12, passphrase: who.passphrase } : {}), ...extra });

  it('when an operator presents their certificate, then the console opens with the role from the operators table', async () => {
    const home = await as(admin, '/console/');
    expect(home.status).toBe(200);
    expect(home.body).toContain('admin01（管理者）');
    expect(home.body).toContain('ユーザ・申請の検索');
    const agent = await as(support, '/console/');
    expect(agent.status).toBe(200);
    expect(agent.body).toContain('agent07（サポート）');
    // The certificate says nothing of the role: OU=operators for both.
    const file = path.join(h.dir, 'admin01.p12');
    fs.writeFileSync(file, admin.pkcs12);
    const subject = execFileSync('openssl', ['pkcs12', '-in', file, '-passin', `pass:${admin.passphrase}`, '-nokeys', '-clcerts'], { encoding: 'utf8' });
    expect(subject).toMatch(/subject=.*CN\s*=\s*admin01/);
    expect(subject).toMatch(/OU\s*=\s*operators/);
    expect(subject).toMatch(/issuer=.*certflow Operators CA/);
  });

  it('when no certificate or a user certificate is presented, then a Japanese 403 page says why and shows nothing of the console', async () => {
    const none = await as(undefined, '/console/');
    expect(none.status).toBe(403);
    expect(none.body).toContain('運用者証明書が提示されていません');
    expect(none.body).not.toContain('ユーザ・申請の検索');
    expect(none.headers['set-cookie']).toBeUndefined();
    const ofUser = await as(user, '/console/users/emp300');
    expect(ofUser.status).toBe(403);
    expect(ofUser.body).toContain('運用者用の証明書ではありません');
    expect(ofUser.body).not.toContain('emp300@');
    // Nor does an operator's certificate open a portal.
    expect(await as(admin, '/portal/operators/')).toMatchObject({ status: 403, body: 'forbidden' });
    expect(await as(admin, '/portal/kdanshinnet/')).toMatchObject({ status: 403, body: 'forbidden' });
    expect(await as(user, '/portal/kdanshinnet/')).toMatchObject({ status: 200 });
  });

  it('when an operator certificate is revoked, or an operator disabled, then the console refuses them with its reason', async () => {
    const revoked = await enrollOperator(h, 'agent08', 'support');
    expect((await as(revoked, '/console/')).status).toBe(200);
    await h.env.client.workflow.getHandle(revoked.workflowId).executeUpdate(revokeUpdate, { args: [{ reason: 'keyCompromise', agent: 'test' }] });
    const afterRevocation = await as(revoked, '/console/');
    expect(afterRevocation.status).toBe(403);
    expect(afterRevocation.body).toContain('この運用者証明書は失効しています');

    // Disabled in the table while the certificate is still valid: refused by the row, whatever the certificate.
    const benched = await enrollOperator(h, 'agent09', 'support');
    await h.runtime.stores.operators.disable('agent09', 'test', new Date());
    const afterDisable = await as(benched, '/console/');
    expect(afterDisable.status).toBe(403);
    expect(afterDisable.body).toContain('この運用者は無効化されています');
  });

  it('when an admin disables an operator from the CLI, then the operator is refused at once and their certificate is on the CRL', async () => {
    const leaving = await enrollOperator(h, 'agent10', 'support');
    expect((await as(leaving, '/console/')).status).toBe(200);
    const disabled = await h.cli(['operator', 'disable', 'agent10']);
    expect(disabled.code).toBe(0);
    expect(JSON.parse(disabled.stdout)).toMatchObject({ agentId: 'agent10', enabled: false, disabledBy: 'bootstrap-admin', revokedRequestIds: [leaving.requestId] });
    expect((await as(leaving, '/console/')).status).toBe(403);
    const crl = path.join(h.dir, 'operators.crl');
    const text = await waitFor(async () => {
      fs.writeFileSync(crl, Buffer.from(await (await fetch(`${h.httpUrl}/crl/operators.crl`)).arrayBuffer()));
      const t = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', crl, '-noout', '-text'], { encoding: 'utf8' });
      return t.toLowerCase().includes(leaving.serial.toLowerCase()) ? t : undefined;
    }, 'the operator on the CRL');
    expect(text).toContain('Privilege Withdrawn');
    expect(OPERATOR_DISABLE_REASON).toBe('privilegeWithdrawn');

    // Refusals of the routes: a support token may not manage operators; a second disable or an unknown agent is refused.
    expect(await h.cli(['operator', 'list'], h.tokens.support)).toMatchObject({ code: 1, stderr: expect.stringContaining('HTTP 403') });
    expect(await h.cli(['operator', 'disable', 'agent10'])).toMatchObject({ code: 1, stderr: expect.stringContaining('HTTP 409') });
    expect(await h.cli(['operator', 'add', 'admin01', '--role', 'admin', '--email', 'x@certflow-ops.example.jp'])).toMatchObject({ code: 1, stderr: expect.stringContaining('HTTP 409') });
    expect(await h.cli(['operator', 'add', 'agent11', '--role', 'root', '--email', 'x@certflow-ops.example.jp'])).toMatchObject({ code: 1, stderr: expect.stringContaining('field role') });
    const listed = JSON.parse((await h.cli(['operator', 'list'])).stdout) as Array<{ agentId: string; role: string; enabled: boolean }>;
    expect(listed.map((o) => [o.agentId, o.role, o.enabled])).toEqual(
      expect.arrayContaining([['admin01', 'admin', true], ['agent07', 'support', true], ['agent10', 'support', false]]),
    );
    const audit = await h.runtime.stores.audit.list({ action: 'disableOperator' });
    expect(audit.map((e) => [e.agent, e.target, e.outcome])).toEqual([
      ['bootstrap-admin', 'operator:agent10', 'ok'],
      ['bootstrap-admin', 'operator:agent10', 'rejected'],
    ]);
  });

  it('when the users API is asked for profile operators, then it answers 400 naming the field, and support cannot act on an operator', async () => {
    const res = await fetch(`${h.httpUrl}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'evil', profile: 'operators', email: 'e@x.example.jp', idAdminEmail: 'e@x.example.jp', organization: 'o', organizationalUnits: ['u'], subscriberId: 'evil' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ field: 'profile' });
    const reissue = await h.cli(['reissue', 'admin01'], h.tokens.support);
    expect(reissue).toMatchObject({ code: 1, stderr: expect.stringContaining('HTTP 404') });
    const reissueNamed = await h.cli(['reissue', 'admin01', '--profile', 'operators'], h.tokens.support);
    expect(reissueNamed).toMatchObject({ code: 1, stderr: expect.stringContaining('field profile') });
    const reset = await h.cli(['password-reset', admin.requestId], h.tokens.support);
    expect(reset).toMatchObject({ code: 1, stderr: expect.stringContaining('HTTP 404') });
  });

  it('when a console form is forged or replayed, then it is refused and nothing changes', async () => {
    const locked = await h.runtime.stores.users.recordFailedLogin('emp300', 1, new Date(Date.now() + 3_600_000));
    expect(locked[0]!.lockedUntil).toBeDefined();
    const page = await as(support, '/console/users/emp300/unlock');
    expect(page.status).toBe(200);
    const cookie = (page.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    const token = /name="formToken" value="([^"]+)"/.exec(page.body)![1]!;

    const forged = await as(support, '/console/users/emp300/unlock', { method: 'POST', body: 'formToken=forged', cookie });
    expect(forged.status).toBe(403);
    expect((await h.runtime.stores.users.find('emp300', 'kdanshinnet'))!.failedLogins).toBe(1);
    const done = await as(support, '/console/users/emp300/unlock', { method: 'POST', body: `formToken=${token}`, cookie });
    expect(done.status).toBe(200);
    expect(done.body).toContain('ロックを解除しました');
    expect((await h.runtime.stores.users.find('emp300', 'kdanshinnet'))!).toMatchObject({ failedLogins: 0, lockedUntil: undefined });
    await h.runtime.stores.users.recordFailedLogin('emp300', 5, new Date());
    const replayed = await as(support, '/console/users/emp300/unlock', { method: 'POST', body: `formToken=${token}`, cookie });
    expect(replayed.status).toBe(403);
    expect(replayed.body).toContain('このフォームは無効です');
    expect((await h.runtime.stores.users.find('emp300', 'kdanshinnet'))!.failedLogins).toBe(1);
    const trail = await h.runtime.stores.audit.list({ action: 'unlock' });
    expect(trail.map((e) => [e.agent, e.role, e.target, e.outcome])).toEqual([['agent07', 'support', 'user:emp300', 'ok']]);
  });
});
