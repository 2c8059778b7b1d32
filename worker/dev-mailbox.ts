// Development mailbox for `npm start`: MailDev catches every mail on a local SMTP port and shows it on a web page.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../infra/ports';
import { spawnTiedToParent } from './child-process';

export interface DevMailboxOptions {
  /** 0 picks a free port. */
  smtpPort: number;
  /** 0 picks a free port. */
  webPort: number;
  /** Interface both servers bind to; loopback by default so the mailbox is not exposed. */
  host?: string;
}

export interface DevMailbox {
  smtpPort: number;
  webUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

// MailDev runs as its own process from its CLI, so its dependencies and logs stay out of certflow's.
const maildevCli = path.resolve(__dirname, '../node_modules/maildev/bin/maildev');


/** Starts MailDev and resolves once its web API answers; point config.smtp at `smtpPort`, read mails at `webUrl`. */
export async function startDevMailbox({ smtpPort, webPort, host = '127.0.0.1' }: DevMailboxOptions): Promise<DevMailbox> {
  const smtp = smtpPort || (await freePort(host));
  const web = webPort || (await freePort(host));
  const child = spawnTiedToParent(
    process.execPath,
    [maildevCli, '--smtp', String(smtp), '--web', String(web), '--ip', host, '--web-ip', host, '--silent'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const webUrl = `http://${host.includes(':') ? `[${host}]` : host}:${web}/`;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`maildev exited (${child.exitCode}): ${stderr.trim()}`);
    const ready = await fetch(new URL('healthz', webUrl)).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`maildev did not answer on ${webUrl} within 30 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    smtpPort: smtp,
    webUrl,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
