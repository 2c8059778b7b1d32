// Benchmark: 10,000 renewal notices through the outbox to a local SMTP listener (a child process that counts them),
// against a baseline of the same mails sent by nodemailer alone, measured in the same run.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createDb, migrateToLatest } from '../infra/db';
import { createMailActivities, createMailOutboxStore, createMailRenderer, createSealedSecrets, createSmtpTransport, type MailRequest } from '../engines/mail';

const N = Number(process.env.BENCH_MAIL_N ?? 10_000);
const CONCURRENCY = 64; // in-flight activities, as a worker's activity slots would run them
const POOL = Number(process.env.BENCH_MAIL_POOL ?? 16); // pooled SMTP connections

type ListenerMessage = { port: number } | { total: number; distinct: number; ids: string[] };

/** The child: an SMTP listener that counts messages by Message-ID and reports on request. */
function runListener(): void {
  const seen = new Map<string, number>();
  let total = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    maxClients: 1000,
    onData(stream, _session, callback) {
      let head = '';
      stream.on('data', (chunk: Buffer) => {
        if (head.length < 4096) head += chunk.toString('latin1');
      });
      stream.on('end', () => {
        const id = /^message-id:\s*(<[^>]+>)/im.exec(head)?.[1] ?? `missing-${total}`;
        total++;
        seen.set(id, (seen.get(id) ?? 0) + 1);
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.server.address() as AddressInfo).port }));
  process.on('message', (m: string) => {
    if (m === 'count') process.send!({ total, distinct: seen.size, ids: [...seen.keys()] });
    if (m === 'reset') {
      seen.clear();
      total = 0;
      process.send!({ total, distinct: 0, ids: [] });
    }
    if (m === 'stop') server.close(() => process.exit(0));
  });
}

function ask(child: ChildProcess, command: string): Promise<{ total: number; distinct: number; ids: string[] }> {
  return new Promise((resolve) => {
    child.once('message', (m: ListenerMessage) => resolve(m as { total: number; distinct: number; ids: string[] }));
    child.send(command);
  });
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

function notices(run: string): MailRequest[] {
  return Array.from({ length: N }, (_, i) => {
    const requestId = `20261125${String(i).padStart(7, '0')}`;
    return {
      key: `certificate-kdanshinnet-${requestId}:${run}:renewalNotice:30`,
      kind: 'renewalNotice' as const,
      to: `emp${i}@bank.example.jp`,
      service: { serviceName: '団信ネット（3社共用）', subjectPrefix: '【団信ネット（3社共用）】' },
      params: {
        renewalUrl: `http://localhost:3000/renew/kdanshinnet`,
        userId: `emp${i}`,
        notBefore: '2023-12-25T03:00:00Z',
        notAfter: '2026-12-24T03:00:00Z',
        daysLeft: 30 as const,
      },
    };
  });
}

async function main(): Promise<void> {
  const child = fork(__filename, ['--listener'], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise<{ port: number }>((resolve) => child.once('message', (m: ListenerMessage) => resolve(m as { port: number })));

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-bench-mail-'));
  const db = createDb({ client: 'sqlite', connection: path.join(dir, 'bench.sqlite') });
  await migrateToLatest(db);
  const renderer = await createMailRenderer();
  const support = {
    phone: '0120-588-399',
    email: 'danshinnet-sc@nissay-it.co.jp',
    hours: '月～金曜日 9:00～17:30（祝日、12/31～1/3を除く）',
    manualUrl: 'http://entry-kiko.danshin-net.com/',
  };
  const from = 'danshinnet-sc@nissay-it.co.jp';
  const transport = createSmtpTransport({ host: '127.0.0.1', port, secure: false }, { maxConnections: POOL });
  const activities = createMailActivities({
    outbox: createMailOutboxStore(db),
    secrets: createSealedSecrets({ db, dataKey: Buffer.alloc(32, 7) }),
    transport,
    renderer,
    from,
    support,
  });

  // Baseline: the same rendered notices through the same pooled transport, without outbox or idempotency.
  const baselineMails = notices('baseline');
  let started = performance.now();
  await inParallel(baselineMails, CONCURRENCY, async (r) => {
    const mail = renderer.render('renewalNotice', r.params as Extract<MailRequest, { kind: 'renewalNotice' }>['params'], { service: r.service, support });
    await transport.sendMail({ from, to: r.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: `<${r.key}@bench>` });
  });
  const baselineSeconds = (performance.now() - started) / 1000;
  const baselineCount = await ask(child, 'count');
  const baselinePerSecond = baselineCount.distinct / baselineSeconds;
  console.log(`baseline (nodemailer, no outbox): ${baselineCount.total} mails in ${baselineSeconds.toFixed(2)} s = ${baselinePerSecond.toFixed(0)} mails/s`);
  await ask(child, 'reset');

  // Through the outbox: the sendMail activity, as the worker runs it.
  const outboxMails = notices('outbox');
  started = performance.now();
  let failures = 0;
  await inParallel(outboxMails, CONCURRENCY, async (r) => {
    const result = await activities.sendMail(r);
    if (result.status !== 'sent') failures++;
  });
  const outboxSeconds = (performance.now() - started) / 1000;

  // Every activity retried once more, as Temporal would after a lost completion: nothing may be sent again.
  const replayStarted = performance.now();
  await inParallel(outboxMails, CONCURRENCY, (r) => activities.sendMail(r));
  const replaySeconds = (performance.now() - replayStarted) / 1000;

  const counted = await ask(child, 'count');
  const expectedIds = new Set(
    (await db('mail_outbox').where('key', 'like', '%:outbox:%').select('message_id')).map((r: { message_id: string }) => r.message_id),
  );
  const delivered = counted.ids.filter((id) => expectedIds.has(id)).length;
  const duplicates = counted.total - counted.distinct;
  const lost = N - delivered;
  const perSecond = N / outboxSeconds;
  console.log(`outbox (sendMail activity): ${counted.total} mails in ${outboxSeconds.toFixed(2)} s = ${perSecond.toFixed(0)} mails/s, ${failures} not sent`);
  console.log(`replay of all ${N} activities after delivery: ${replaySeconds.toFixed(2)} s, ${counted.total - N} extra mails`);
  console.log(`ratio outbox/baseline: ${(perSecond / baselinePerSecond).toFixed(2)}`);

  transport.close();
  await db.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
  child.send('stop');
  console.log(JSON.stringify({ bench: 'mail', n: N, mails_per_s: Math.round(perSecond), duplicates, lost }));
}

if (process.argv.includes('--listener')) runListener();
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
