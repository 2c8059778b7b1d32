// An SMTP listener for the benches in a child process of its own, off the measured process's event loop: it accepts
// every mail and keeps each one's envelope recipients and Message-ID, so lost and duplicate mails can be counted.
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { CountedMail } from './lifecycle-driver';

export interface SmtpSink {
  port: number;
  /** The child process's pid (its CPU is the sink's, not the measured process's). */
  pid: number;
  /** Every mail received so far. */
  mails(): Promise<CountedMail[]>;
  /** Resolves with the mails once at least `count` have arrived, or with what arrived by `timeoutMs`. */
  waitFor(count: number, timeoutMs: number): Promise<CountedMail[]>;
  stop(): Promise<void>;
}

const CHILD_FLAG = '--smtp-sink-child';

export async function startSmtpSink(): Promise<SmtpSink> {
  const child: ChildProcess = fork(__filename, [CHILD_FLAG], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`the SMTP sink exited with ${code} before listening`)));
  });
  const mails = () =>
    new Promise<CountedMail[]>((resolve) => {
      child.once('message', (m: { mails: CountedMail[] }) => resolve(m.mails));
      child.send('mails');
    });
  return {
    port,
    pid: child.pid!,
    mails,
    async waitFor(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = await mails();
        if (got.length >= count || Date.now() > deadline) return got;
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send('stop');
      }),
  };
}

function runSmtpSink(): void {
  const received: CountedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    maxClients: 1000,
    closeTimeout: 1000,
    onData(stream, session, callback) {
      // Only the header block is kept: the Message-ID is all that is counted.
      let head = '';
      stream.on('data', (chunk: Buffer) => {
        if (!head.includes('\r\n\r\n') && head.length < 64 * 1024) head += chunk.toString('latin1');
      });
      stream.on('end', () => {
        const headers = head.split('\r\n\r\n')[0]!.replace(/\r\n[ \t]+/g, ' ');
        const messageId = /^message-id:\s*(\S+)/im.exec(headers)?.[1] ?? '';
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), messageId, at: Date.now() });
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.server.address() as AddressInfo).port }));
  process.on('message', (m: string) => {
    if (m === 'mails') process.send!({ mails: received });
    if (m === 'stop') server.close(() => process.exit(0));
  });
}

if (process.argv.includes(CHILD_FLAG)) runSmtpSink();
