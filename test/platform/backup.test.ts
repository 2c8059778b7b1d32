// The backup drill on the embedded default, as README "Backups" tells an operator: `npm start` with certificates live,
// `npm run backup` while it runs, the data folder lost, `npm run restore` into a fresh one, `npm start` there — and
// every request is in its state, the CA still signs, and a timer set before the backup still fires.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createDb, type Db } from '../../infra/db';
import { loadConfig } from '../../worker/config';
import { withDevSecrets } from '../../worker/dev-secrets';
import { downloadConfirmedSignal, retrieveKeyUpdate, statusQuery } from '../../workflows/definitions';
import { freePort, testEnv } from '../support/config';
import { startCertificate, THREE_YEAR_POLICY } from '../support/lifecycle-harness';

const root = path.resolve(__dirname, '../..');
const SECRETS = ['CERTFLOW_CA_PASSPHRASE', 'CERTFLOW_DATA_KEY', 'CERTFLOW_SESSION_SECRET', 'CERTFLOW_API_TOKENS'];
/** Long enough that the guide has not lapsed when the backup is taken, short enough to see it lapse after the restore. */
const GUIDE_MS = 90_000;

/** npm start's environment on ports of its own; the secrets generated into the data folder, as on a real install. */
async function startEnv(dataDir: string): Promise<Record<string, string>> {
  const [temporalPort, uiPort, httpPort, tlsPort, smtpPort, mailboxPort, opsPort] = await Promise.all(Array.from({ length: 7 }, () => freePort()));
  const env = testEnv({
    CERTFLOW_DATA_DIR: dataDir,
    CERTFLOW_TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    CERTFLOW_TEMPORAL_UI_PORT: String(uiPort),
    CERTFLOW_HTTP_PORT: String(httpPort),
    CERTFLOW_TLS_PORT: String(tlsPort),
    CERTFLOW_SMTP_PORT: String(smtpPort),
    CERTFLOW_MAILBOX_WEB_PORT: String(mailboxPort),
    CERTFLOW_OPS_PORT: String(opsPort),
    CERTFLOW_LOG_LEVEL: 'warn',
  });
  for (const name of SECRETS) delete env[name];
  return env;
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startCertflow(env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/start.ts'], { cwd: root, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitUntil<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const up = (started: Started) =>
  waitUntil(async () => {
    if (started.child.exitCode !== null) throw new Error(`certflow exited early:\n${started.output()}`);
    return started.output().includes('certflow is up');
  }, 'certflow is up', 120_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${started.output()}`);
  });

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function pressCtrlC(started: Started): Promise<number | null> {
  process.kill(-started.child.pid!, 'SIGINT');
  const code = await started.exited;
  for (let i = 0; i < 50 && groupAlive(started.child.pid!); i++) await new Promise((r) => setTimeout(r, 200));
  return code;
}

/** `npm run backup` / `npm run restore` as the operator runs them. */
function script(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/backup.ts', ...args], { cwd: root }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr }),
    );
  });
}

const statusIn = async (db: Db, requestId: string) => ((await db('requests').where({ request_id: requestId }).first()) as { status: string } | undefined)?.status;
const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe('backup and restore of the embedded default', () => {
  const cleanup: Array<() => void | Promise<void>> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  it('when backed up while certificates are live and restored into a fresh data folder, then every request is in its state, the CA signs and a timer still fires', async () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-backup-'));
    cleanup.push(() => fs.rmSync(scratch, { recursive: true, force: true }));
    const [dirA, dirB, backups] = ['data-a', 'data-b', 'backups'].map((d) => path.join(scratch, d));

    // The original install, with one request awaiting key retrieval, one active and one whose guide lapses soon.
    const envA = await startEnv(dirA!);
    const configA = loadConfig(withDevSecrets(envA, dirA!).env);
    const first = startCertflow(envA);
    cleanup.push(() => void (groupAlive(first.child.pid!) && process.kill(-first.child.pid!, 'SIGKILL')));
    await up(first);
    const dbA = createDb(configA.db);
    let connection = await Connection.connect({ address: configA.temporal.address });
    let client = new Client({ connection });
    const taskQueue = configA.temporal.taskQueue;
    const awaiting = await startCertificate(client, dbA, taskQueue, 'backup01');
    const active = await startCertificate(client, dbA, taskQueue, 'backup02');
    const lapsing = await startCertificate(client, dbA, taskQueue, 'backup03', { policy: { ...THREE_YEAR_POLICY, guideValidityDays: GUIDE_MS / 86_400_000 } });
    const { serial: activeSerial } = await active.handle.executeUpdate(retrieveKeyUpdate);
    await active.handle.signal(downloadConfirmedSignal);
    await waitUntil(async () => (await statusIn(dbA, active.requestId)) === 'active', 'the second request to be active', 30_000);
    for (const r of [awaiting, lapsing]) await waitUntil(async () => (await statusIn(dbA, r.requestId)) === 'awaitingKeyRetrieval', `${r.requestId} awaiting`, 30_000);
    const caPem = ((await dbA('certificate_authorities').where({ profile: 'kdanshinnet' }).first()) as { certificate_pem: string }).certificate_pem;
    await dbA.destroy();
    await connection.close();

    // The backup, while everything runs.
    const backedUp = await script('backup', '--data-dir', dirA!, '--out', backups!);
    expect(backedUp).toMatchObject({ code: 0, stderr: '' });
    const [folderName] = fs.readdirSync(backups!);
    const folder = path.join(backups!, folderName!);
    expect(folderName).toMatch(/^certflow-backup-\d{8}T\d{6}Z$/);
    expect(mode(folder)).toBe(0o700);
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as { files: Array<{ path: string }> };
    const tlsFiles = fs.readdirSync(path.join(dirA!, 'tls')).map((f) => `tls/${f}`);
    expect(tlsFiles.length).toBeGreaterThan(0);
    expect(manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining(['temporal.sqlite', 'certflow.sqlite', 'dev-secrets.json', ...tlsFiles]));
    for (const f of manifest.files) expect([f.path, mode(path.join(folder, f.path))]).toEqual([f.path, 0o600]);
    const copy = createDb({ client: 'sqlite', connection: path.join(folder, 'certflow.sqlite') });
    // The guide had not lapsed when the copy was taken: the lapse seen later happens on the restored install.
    expect(await statusIn(copy, lapsing.requestId)).toBe('awaitingKeyRetrieval');
    await copy.destroy();

    // The original is lost; the backup goes into a fresh folder (never over existing data).
    expect(await pressCtrlC(first)).toBe(0);
    expect(await script('restore', folder, '--data-dir', dirA!)).toMatchObject({ code: 2, stderr: expect.stringMatching(/already holds .*restore into a fresh data folder/) });
    expect(await script('restore', folder, '--data-dir', dirB!)).toMatchObject({ code: 0, stderr: '' });
    expect(mode(dirB!)).toBe(0o700);

    const envB = await startEnv(dirB!);
    const configB = loadConfig(withDevSecrets(envB, dirB!).env);
    const second = startCertflow(envB);
    cleanup.push(() => void (groupAlive(second.child.pid!) && process.kill(-second.child.pid!, 'SIGKILL')));
    await up(second);
    const dbB = createDb(configB.db);
    cleanup.push(() => dbB.destroy());
    connection = await Connection.connect({ address: configB.temporal.address });
    cleanup.push(() => connection.close());
    client = new Client({ connection });
    const handle = (workflowId: string) => client.workflow.getHandle(workflowId);

    // Every request in its state, in Temporal and in the database.
    expect((await handle(awaiting.workflowId).query(statusQuery)).state).toBe('awaitingKeyRetrieval');
    expect(await handle(active.workflowId).query(statusQuery)).toMatchObject({ state: 'active', serial: activeSerial });
    expect(await statusIn(dbB, awaiting.requestId)).toBe('awaitingKeyRetrieval');
    expect(await statusIn(dbB, active.requestId)).toBe('active');

    // The CA signs: a key retrieval on the restored install issues a certificate under the CA from before the backup.
    const { serial } = await handle(awaiting.workflowId).executeUpdate(retrieveKeyUpdate);
    const issued = (await dbB('issued_certificates').where({ serial }).first()) as { certificate_pem: string };
    const certificate = new crypto.X509Certificate(issued.certificate_pem);
    const ca = new crypto.X509Certificate(caPem);
    expect(certificate.verify(ca.publicKey)).toBe(true);
    expect(certificate.checkIssued(ca)).toBe(true);

    // The timer set before the backup fires on the restored install: the guide lapses and the request expires.
    await waitUntil(async () => (await handle(lapsing.workflowId).query(statusQuery)).state === 'requestExpired', 'the guide to lapse', GUIDE_MS + 60_000);
    await waitUntil(async () => (await statusIn(dbB, lapsing.requestId)) === 'requestExpired', 'the lapse in the database', 30_000);

    expect(await pressCtrlC(second)).toBe(0);
  }, 420_000);
});
