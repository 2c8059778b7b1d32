// Test fixtures for mail: a real SMTP listener (smtp-server) that parses what it receives, and a migrated database.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

export interface ReceivedMail {
  envelopeTo: string[];
  raw: string;
  parsed: ParsedMail;
  /** When its body had arrived (epoch ms). */
  at: number;
}

export interface TestMailbox {
  port: number;
  received: ReceivedMail[];
  /** Recipients answered with `550 5.1.1 no such user` at RCPT TO. */
  refused: Set<string>;
  /** While set, every transaction is answered with this 4xx at MAIL FROM. */
  tempFailure: string | undefined;
  /** Delay before the listener accepts a message's data, to hold an attempt in flight. */
  dataDelayMs: number;
  /**
   * A relay slow to confirm: the message counts as received when its body has arrived (the relay has it and will
   * deliver it), and the "250" after the body comes this much later.
   */
  ackDelayMs: number;
  /** Every "250" after a body this listener has sent (a held answer counts once it is sent). */
  acks: number;
  /** A relay slow before the body: its answer to RCPT TO comes this much later. */
  rcptDelayMs: number;
  rcptAttempts: number;
  /** The listener goes away (connection refused) … */
  down(): Promise<void>;
  /** … and comes back on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

export async function startTestMailbox(): Promise<TestMailbox> {
  const received: ReceivedMail[] = [];
  let server: SMTPServer | undefined;
  const box: TestMailbox = {
    port: 0,
    received,
    refused: new Set(),
    tempFailure: undefined,
    dataDelayMs: 0,
    ackDelayMs: 0,
    acks: 0,
    rcptDelayMs: 0,
    rcptAttempts: 0,
    async down() {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async up() {
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['AUTH', 'STARTTLS'],
        logger: false,
        // down() with a client's pooled connections still open: hang up on them after 1 s, not smtp-server's 30 s.
        closeTimeout: 1000,
        // A held answer is silence on the socket: the listener must not hang up (421) on its own client meanwhile.
        socketTimeout: 15 * 60_000,
        onMailFrom(_address, _session, callback) {
          if (box.tempFailure) return callback(smtpError(451, box.tempFailure));
          callback();
        },
        onRcptTo(address, _session, callback) {
          box.rcptAttempts++;
          if (box.refused.has(address.address)) return callback(smtpError(550, '5.1.1 no such user'));
          setTimeout(() => callback(), box.rcptDelayMs);
        },
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', async () => {
            const raw = Buffer.concat(chunks);
            const at = Date.now();
            await new Promise((r) => setTimeout(r, box.dataDelayMs));
            received.push({
              envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              raw: raw.toString('utf8'),
              parsed: await simpleParser(raw),
              at,
            });
            if (box.ackDelayMs > 0) await new Promise((r) => setTimeout(r, box.ackDelayMs));
            box.acks++;
            callback();
          });
        },
      });
      const s = server;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(box.port, '127.0.0.1', () => resolve());
      });
      box.port = (s.server.address() as AddressInfo).port;
    },
    close: () => box.down(),
  };
  await box.up();
  return box;
}

/** A migrated SQLite file; the store tests on every database use test/support/databases.ts. */
export { createTestDb } from '../support/db';

export const support = {
  phone: '0120-588-399',
  email: 'danshinnet-sc@nissay-it.co.jp',
  hours: '月～金曜日 9:00～17:30（祝日、12/31～1/3を除く）',
  manualUrl: 'http://entry-kiko.danshin-net.com/',
};

export const kdanshinnet = { serviceName: '団信ネット（3社共用）', subjectPrefix: '【団信ネット（3社共用）】' };
export const nissay = { serviceName: '団信ネット（日本生命）', subjectPrefix: '【団信ネット（日本生命）】' };

export const dataKey = Buffer.from('7f'.repeat(32), 'hex');
