// The user's journey on the production shape, and what it survives: consecutive pages answered by different web
// processes, a web process killed between Submit and Download, PostgreSQL stopped and started again.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { passwordFromMail, registration } from '../api/stack';
import { Visitor } from '../web/visitor';
import { keepaliveTimeoutSeconds } from '../../scripts/cluster/nginx';
import { reusedAfterIdle } from '../support/keep-alive';
import { eventually, recordFigures, secondsSince, startTestCluster, statusesOf, type TestCluster } from './support';

const SUBJECTS = ['【団信ネット（3社共用）】ユーザーIDのお知らせ', '【団信ネット（3社共用）】クライアント証明書取得のご案内', '【団信ネット（3社共用）】ログインパスワードのお知らせ'].sort();
const KEY = '/enroll/kdanshinnet/key';
const DOWNLOAD = '/enroll/kdanshinnet/download';

describe('the journey on the cluster', () => {
  let tc: TestCluster;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-journey-'));
  let began = Date.now();

  beforeAll(async () => {
    tc = await startTestCluster('journey');
    recordFigures('journey: cluster start', { seconds: secondsSince(began) });
  }, 600_000);

  afterAll(async () => {
    await tc?.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }, 120_000);

  beforeEach(() => {
    began = Date.now();
  });

  /** Registers through nginx; resolves once the user's three guide mails are in the mailbox, with the enrollment password. */
  const register = async (userId: string) => {
    const res = await tc.api('POST', '/api/v1/users', registration(userId));
    expect(res.status).toBe(201);
    const { requestId } = res.body as { requestId: string };
    const { email, idAdminEmail } = registration(userId);
    const mails = await eventually(async () => {
      const ours = [...tc.mailsTo(email), ...tc.mailsTo(idAdminEmail)];
      return ours.length >= 3 && ours;
    }, `the three guide mails of ${userId}`);
    expect(mails.map((m) => m.parsed.subject).sort()).toEqual(SUBJECTS);
    const password = passwordFromMail(mails.find((m) => m.parsed.subject!.endsWith('ログインパスワードのお知らせ'))!);
    return { userId, requestId, password, mails, servedBy: res.servedBy };
  };

  const opensWith = (pkcs12: Buffer, password: string, name: string) => {
    const file = path.join(scratch, `${name}.p12`);
    fs.writeFileSync(file, pkcs12);
    return execFileSync('openssl', ['pkcs12', '-in', file, '-passin', `pass:${password}`, '-nokeys', '-clcerts'], { encoding: 'utf8' });
  };

  const activeSoon = (requestId: string) =>
    eventually(async () => (await statusesOf(tc.db, [requestId])).get(requestId) === 'active', `request ${requestId} to be active`);

  it('when nginx reuses a connection to a web process after it lay idle for longer than nginx keeps one, then the web process has kept it open: it is never closed under a request nginx is sending (a POST, never retried, would be a 502)', async () => {
    // Idle for a second longer than nginx keeps an upstream connection, and longer than Node's default 5 s.
    const idle = await reusedAfterIdle(`${tc.webUrl('web-1')}/healthz`, Math.max(keepaliveTimeoutSeconds + 1, 6) * 1000);
    expect(idle).toEqual({ statuses: [200, 200], sameSocket: true });
  });

  it('when the login, the key Submit and the Download land on different web processes, then the .p12 opens with the chosen password and the request ends active', async () => {
    const user = await register('journey01');
    expect(user.servedBy).toMatch(/^web-[12]$/);
    // The guide mail links to the public address: nginx, not a web process.
    expect(user.mails.find((m) => m.parsed.subject!.endsWith('取得のご案内'))!.parsed.text).toContain(`${tc.cluster.urls.http}/enroll/kdanshinnet/login`);

    // One browser, one cookie jar; each page asked of a chosen web process directly.
    const onWeb1 = new Visitor(tc.webUrl('web-1'));
    const onWeb2 = onWeb1.at(tc.webUrl('web-2'));
    const answered: string[] = [];
    const by = (res: Response) => (answered.push(res.headers.get('x-certflow-process') ?? '?'), res);

    const login = await onWeb1.login('kdanshinnet', user.userId, user.password);
    expect(login.status).toBe(303);
    by(login.res);
    // The key page's form token is drawn by web-1 and spent by web-2: it lives in the shared session store.
    const keyToken = await onWeb1.token(KEY);
    const p12Password = 'Journey-01-pkcs12';
    const submit = await onWeb2.post(KEY, { formToken: keyToken, requestId: user.requestId, password: p12Password, passwordConfirmation: p12Password });
    expect(submit).toMatchObject({ status: 303, location: DOWNLOAD });
    by(submit.res);
    const downloadPage = await onWeb2.get(DOWNLOAD);
    by(downloadPage.res);
    const downloadToken = /name="formToken" value="([^"]+)"/.exec(downloadPage.body)![1]!;
    // The PKCS#12 waiting since Submit (web-2) is handed out by web-1.
    const download = await onWeb1.post(DOWNLOAD, { formToken: downloadToken });
    expect(download.status).toBe(200);
    by(download.res);
    expect(download.res.headers.get('content-type')).toBe('application/x-pkcs12');
    expect(answered).toEqual(['web-1', 'web-2', 'web-2', 'web-1']);

    const pkcs12 = Buffer.from(await download.res.arrayBuffer());
    expect(opensWith(pkcs12, p12Password, 'journey01')).toMatch(/CN\s*=\s*journey01/);
    await activeSoon(user.requestId);
    const viaApi = await tc.api('GET', `/api/v1/requests/${user.requestId}`);
    expect(viaApi.body).toMatchObject({ status: 'active' });
    recordFigures('journey: login web-1, Submit web-2, Download web-1', { seconds: secondsSince(began), answered });
  });

  it('when the web process that took the Submit is killed -9, then the user carries on through nginx with the same cookie: the .p12 downloads and the request ends active', async () => {
    const user = await register('journey02');
    const browser = new Visitor(tc.cluster.urls.http);
    expect((await browser.login('kdanshinnet', user.userId, user.password)).status).toBe(303);
    const p12Password = 'Journey-02-pkcs12';
    const submit = await browser.post(KEY, { formToken: await browser.token(KEY), requestId: user.requestId, password: p12Password, passwordConfirmation: p12Password });
    expect(submit).toMatchObject({ status: 303, location: DOWNLOAD });
    const victim = tc.process(submit.res.headers.get('x-certflow-process')!);
    const survivor = tc.cluster.processes.find((p) => p.role === 'web' && p !== victim)!;

    const pid = victim.pid;
    victim.kill();
    await eventually(async () => tc.events.some((e) => e.includes(`${victim.name} (web, pid ${pid}) exited with SIGKILL`)), 'the kill to be seen', 10_000);

    // Everything the user does next goes through nginx, which finds the survivor; no answer is an error page.
    const page = await browser.get(DOWNLOAD);
    expect(page.status).toBe(200);
    expect(page.res.headers.get('x-certflow-process')).toBe(survivor.name);
    const formToken = /name="formToken" value="([^"]+)"/.exec(page.body)![1]!;
    const download = await browser.post(DOWNLOAD, { formToken });
    expect(download.status).toBe(200);
    expect(download.res.headers.get('x-certflow-process')).toBe(survivor.name);
    expect(opensWith(Buffer.from(await download.res.arrayBuffer()), p12Password, 'journey02')).toMatch(/CN\s*=\s*journey02/);
    await activeSoon(user.requestId);
    const killedAt = secondsSince(began);

    await victim.restart();
    expect(victim.running()).toBe(true);
    recordFigures('journey: web process killed between Submit and Download', { seconds: killedAt, restartSeconds: secondsSince(began) - killedAt, victim: victim.name });
  });

  it('when PostgreSQL stops, then every web process and every worker answers /readyz 503 naming the database and users get an error page, no stack; when it is back, 200 everywhere, nothing kept of what failed, and a registration made before the outage ends active', async () => {
    const readyz = tc.cluster.processes.map((p) => ({ name: p.name, url: p.role === 'web' ? `${tc.webUrl(p.name)}/readyz` : `http://127.0.0.1:${p.ports.ops}/readyz` }));
    const ask = () => Promise.all(readyz.map(async (r) => {
      const res = await fetch(r.url);
      return { name: r.name, status: res.status, body: (await res.json()) as { status: string; checks: Record<string, { status: string }> } };
    }));
    expect((await ask()).map((a) => a.status)).toEqual(readyz.map(() => 200));

    // Registered and logged in before the outage; the key is retrieved during it, then after it.
    const user = await register('journey03');
    const browser = new Visitor(tc.cluster.urls.http);
    expect((await browser.login('kdanshinnet', user.userId, user.password)).status).toBe(303);
    const keyToken = await browser.token(KEY);
    const exitsBefore = tc.events.filter((e) => e.includes('exited')).length;

    await tc.cluster.postgres.stop();
    const outage = Date.now();
    const down = await eventually(async () => {
      const answers = await ask();
      return answers.every((a) => a.status === 503 && a.body.checks.database?.status === 'down' && a.body.status.includes('database')) && answers;
    }, 'every /readyz to say 503 naming the database', 60_000);
    const noticedSeconds = secondsSince(outage);

    // Meanwhile: the user's Submit and an admin's registration fail, plainly, with no stack trace.
    const p12Password = 'Journey-03-pkcs12';
    const submitDuringOutage = await browser.post(KEY, { formToken: keyToken, requestId: user.requestId, password: p12Password, passwordConfirmation: p12Password });
    const registerDuringOutage = await tc.api('POST', '/api/v1/users', registration('journey04'));
    expect(submitDuringOutage.status).toBeGreaterThanOrEqual(500);
    expect(submitDuringOutage.body).toContain('<html');
    expect(registerDuringOutage.status).toBeGreaterThanOrEqual(500);
    expect(registerDuringOutage.body).toMatchObject({ error: expect.any(String) });
    for (const body of [submitDuringOutage.body, JSON.stringify(registerDuringOutage.body)]) expect(body).not.toMatch(/\bat .+:\d+:\d+|node_modules|ECONNREFUSED/);
    // More of the same, so each web process answers a Submit and then a registration on the keep-alive connection nginx
    // reuses: a page whose session could not be read must not close it under the next request (a 502 from nginx).
    const statuses = new Set<number>();
    for (let i = 0; i < 6; i++) {
      statuses.add((await browser.post(KEY, { formToken: keyToken, requestId: user.requestId, password: p12Password, passwordConfirmation: p12Password })).status);
      statuses.add((await tc.api('POST', '/api/v1/users', registration('journey04'))).status);
    }
    expect([...statuses]).toEqual([500]);

    await tc.cluster.postgres.start();
    const restarted = Date.now();
    await eventually(async () => (await ask()).every((a) => a.status === 200), 'every /readyz to say 200 again', 120_000);
    const recoveredSeconds = secondsSince(restarted);
    // Nothing died of it: every process rode the outage out.
    expect(tc.cluster.processes.filter((p) => !p.running()).map((p) => p.name)).toEqual([]);
    expect(tc.events.filter((e) => e.includes('exited')).length).toBe(exitsBefore);

    // The failed registration kept nothing: it goes through now, once.
    const again = await tc.api('POST', '/api/v1/users', registration('journey04'));
    expect(again.status).toBe(201);
    // The same session carries on: the key is retrieved and downloaded, and the request ends active.
    const submit = await browser.post(KEY, { formToken: await browser.token(KEY), requestId: user.requestId, password: p12Password, passwordConfirmation: p12Password });
    expect(submit).toMatchObject({ status: 303, location: DOWNLOAD });
    const download = await browser.post(DOWNLOAD, { formToken: await browser.token(DOWNLOAD) });
    expect(download.status).toBe(200);
    expect(opensWith(Buffer.from(await download.res.arrayBuffer()), p12Password, 'journey03')).toMatch(/CN\s*=\s*journey03/);
    await activeSoon(user.requestId);
    expect(new Set(user.mails.map((m) => m.parsed.messageId)).size).toBe(3);
    recordFigures('journey: PostgreSQL stopped and started', {
      seconds: secondsSince(began),
      noticedSeconds,
      recoveredSeconds,
      readyzWhileDown: Object.fromEntries(down.map((a) => [a.name, a.body.status])),
      duringOutage: { submit: submitDuringOutage.status, register: registerDuringOutage.status, registerBody: registerDuringOutage.body },
    });
  });
});
