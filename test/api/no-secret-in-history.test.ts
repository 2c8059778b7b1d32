// Issue 4 item 7: no enrollment password, PKCS#12 password, private key or PKCS#12 travels through Temporal, the database or the logs,
// not even the PKCS#12 waiting in a web session (in the database) for its Download.
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { issuanceKey } from '../../activities/certificate-activities';
import { createRequestStore } from '../../stores/requests';
import { downloadConfirmedSignal, retrieveKeyUpdate } from '../../workflows/definitions';
import { DATABASE_KINDS } from '../support/databases';
import { dumpPostgresDatabase } from '../support/postgres';
import { holdsAny, pkcs12Pieces, secretForms, sqliteBytes } from '../support/secrets';
import { Visitor } from '../web/visitor';
import { eventually, passwordFromMail, registration, startApiStack, type ApiStack } from './stack';

/** The private key inside a PKCS#12, as PEM, read by the openssl CLI (a consumer independent of certflow). */
function privateKeyPem(pkcs12: Buffer, password: string, dir: string): string {
  const file = path.join(dir, `${crypto.randomUUID()}.p12`);
  fs.writeFileSync(file, pkcs12);
  try {
    return execFileSync('openssl', ['pkcs12', '-in', file, '-nocerts', '-nodes', '-passin', 'env:P12PASS'], { env: { ...process.env, P12PASS: password } }).toString();
  } finally {
    fs.rmSync(file);
  }
}


// Once per database, each on its own stack and Temporal server, so the history check sees only that run's workflows.
describe.each(DATABASE_KINDS)('secrets in Temporal history, the database and the logs on %s', (database) => {
  let stack: ApiStack;
  const consoleOutput: string[] = [];

  beforeAll(async () => {
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const original = console[level].bind(console);
      jest.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        consoleOutput.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
        original(...args);
      });
    }
    stack = await startApiStack('history', { database });
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
    jest.restoreAllMocks();
  });

  it('when a certificate goes through registration, password reset, retrieval, download and reissue, then none of its secrets is stored or logged in clear', async () => {
    const requests = createRequestStore(stack.runtime.db);
    const enrollmentPasswords: string[] = [];
    const pkcs12Passwords: string[] = [];
    const keyMaterial: Buffer[] = [];

    async function retrieveAndDownload(requestId: string, workflowId: string) {
      const handle = stack.env.client.workflow.getHandle(workflowId);
      await handle.executeUpdate(retrieveKeyUpdate);
      const pkcs12Password = `P12-${crypto.randomBytes(9).toString('base64url')}`;
      pkcs12Passwords.push(pkcs12Password);
      const pkcs12 = await stack.runtime.ca.buildPkcs12(issuanceKey(requestId, 1), pkcs12Password, { userId: 'emp100' });
      const pem = privateKeyPem(pkcs12, pkcs12Password, stack.dataDir);
      const der = crypto.createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
      keyMaterial.push(pkcs12, der, Buffer.from(pem.replace(/-----[^-]+-----|\s/g, '').slice(0, 64)));
      await handle.signal(downloadConfirmedSignal);
      await eventually(async () => (await requests.find(requestId))?.status === 'active', `${requestId} to be active`);
    }

    // registration: the password goes by mail only
    const registered = await stack.call('POST', '/api/v1/users', { body: registration('emp100') });
    expect(registered.status).toBe(201);
    const mails = await stack.mailsTo('emp100@bank.example.co.jp', 2);
    enrollmentPasswords.push(passwordFromMail(mails.find((m) => m.parsed.subject!.endsWith('パスワードのお知らせ'))!));

    // password reset before retrieval
    const reset = await stack.call('POST', `/api/v1/requests/${registered.body.requestId}/password-reset`, { token: stack.tokens.support });
    expect(reset.status).toBe(200);
    enrollmentPasswords.push(reset.body.enrollmentPassword);

    await retrieveAndDownload(registered.body.requestId, registered.body.workflowId);

    // reissue, then a reset of the successor's password, then its retrieval and download
    const reissued = await stack.call('POST', '/api/v1/users/emp100/reissue', { token: stack.tokens.support });
    expect(reissued.status).toBe(201);
    enrollmentPasswords.push(reissued.body.enrollmentPassword);
    await eventually(async () => (await requests.find(reissued.body.requestId))?.status === 'awaitingKeyRetrieval', 'the successor to await retrieval');
    const resetAgain = await stack.call('POST', `/api/v1/requests/${reissued.body.requestId}/password-reset`, { token: stack.tokens.support });
    expect(resetAgain.status).toBe(200);
    enrollmentPasswords.push(resetAgain.body.enrollmentPassword);
    await retrieveAndDownload(reissued.body.requestId, reissued.body.workflowId);

    // 鍵の取得 on the web pages: until Download, the PKCS#12 waits in the session, and sessions are in the database
    const webUser = await stack.call('POST', '/api/v1/users', { body: registration('emp200') });
    expect(webUser.status).toBe(201);
    const webMails = await stack.mailsTo('emp200@bank.example.co.jp', 2);
    const webPassword = passwordFromMail(webMails.find((m) => m.parsed.subject!.endsWith('パスワードのお知らせ'))!);
    enrollmentPasswords.push(webPassword);
    const visitor = new Visitor(stack.baseUrl);
    expect((await visitor.login('kdanshinnet', 'emp200', webPassword)).status).toBe(303);
    const webPkcs12Password = `P12-${crypto.randomBytes(9).toString('base64url')}`;
    pkcs12Passwords.push(webPkcs12Password);
    const keyForm = { formToken: await visitor.token('/enroll/kdanshinnet/key'), requestId: webUser.body.requestId, password: webPkcs12Password, passwordConfirmation: webPkcs12Password };
    expect(await visitor.post('/enroll/kdanshinnet/key', keyForm)).toMatchObject({ status: 303, location: '/enroll/kdanshinnet/download' });
    const sessions = (await stack.runtime.db('web_sessions').pluck('sess')).map((sess: unknown) => (typeof sess === 'string' ? sess : JSON.stringify(sess)));
    expect(sessions.filter((sess) => sess.includes('"sealedPkcs12"'))).toHaveLength(1); // the pending download is in the database
    // SQLite: the database file and its WAL as bytes; PostgreSQL: a pg_dump of the stack's database (bytea as hex).
    const dbFile = stack.runtime.config.db.connection;
    const databaseNow = () => (database === 'sqlite' ? sqliteBytes(dbFile) : dumpPostgresDatabase(dbFile));
    const beforeDownload = databaseNow();
    const download = await visitor.post('/enroll/kdanshinnet/download', { formToken: await visitor.token('/enroll/kdanshinnet/download') });
    expect(download.status).toBe(200);
    const waitingPkcs12 = Buffer.from(await download.res.arrayBuffer());
    const waitingKey = crypto.createPrivateKey(privateKeyPem(waitingPkcs12, webPkcs12Password, stack.dataDir)).export({ type: 'pkcs8', format: 'der' });
    keyMaterial.push(waitingPkcs12, waitingKey);
    // ...sealed: no piece of the PKCS#12 in any form was in the database while it waited
    expect(holdsAny(beforeDownload, pkcs12Pieces(waitingPkcs12))).toBe(false);
    expect(holdsAny(beforeDownload, secretForms(waitingKey.subarray(-80, -40)))).toBe(false);
    await eventually(async () => (await requests.find(webUser.body.requestId))?.status === 'active', 'the web retrieval to be active');

    const secrets: Array<[string, string | Buffer]> = [
      ...enrollmentPasswords.map((p, i) => [`enrollment password ${i + 1}`, p] as [string, string]),
      ...pkcs12Passwords.map((p, i) => [`PKCS#12 password ${i + 1}`, p] as [string, string]),
      ...keyMaterial.map((k, i) => [`key material ${i + 1}`, k] as [string, Buffer]),
    ];
    expect(new Set(enrollmentPasswords).size).toBe(5);

    // every workflow of this server, each history in full (protobuf bytes, payloads included)
    const histories: Array<[string, Buffer]> = [];
    for await (const execution of stack.env.client.workflow.list()) {
      const history = await stack.env.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      histories.push([execution.workflowId, Buffer.from(temporal.api.history.v1.History.encode(history).finish())]);
    }
    expect(histories.map(([id]) => id).sort()).toEqual([registered.body.workflowId, reissued.body.workflowId, webUser.body.workflowId].sort());
    // The check can fail: the history does carry the request ID and the sealed reference.
    expect(histories.some(([, bytes]) => bytes.includes(registered.body.requestId))).toBe(true);

    const databaseBytes: Array<[string, Buffer]> =
      database === 'sqlite'
        ? [dbFile, `${dbFile}-wal`].filter((f) => fs.existsSync(f)).map((f) => [path.basename(f), fs.readFileSync(f)] as [string, Buffer])
        : [['pg_dump of the certflow database', dumpPostgresDatabase(dbFile)]];
    const stored: Array<[string, Buffer]> = [
      ...histories.map(([id, bytes]) => [`history of ${id}`, bytes] as [string, Buffer]),
      ...databaseBytes,
      ['HTTP log', Buffer.from(stack.logs.join(''))],
      ['console output', Buffer.from(consoleOutput.join('\n'))],
    ];
    expect(stack.runtime.config.db.client).toBe(database === 'sqlite' ? 'sqlite' : 'pg');
    const mainStore = database === 'sqlite' ? 'certflow.sqlite' : 'pg_dump of the certflow database';
    expect(stored.find(([name]) => name === mainStore)![1].length).toBeGreaterThan(0);
    // The check can fail: the rows written last (the successor's request) are in what is searched.
    expect(databaseBytes.some(([, bytes]) => bytes.includes(reissued.body.requestId))).toBe(true);

    const leaks: string[] = [];
    for (const [where, bytes] of stored) {
      for (const [what, secret] of secrets) {
        if (secretForms(secret).some((form) => bytes.includes(form))) leaks.push(`${what} in ${where}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
