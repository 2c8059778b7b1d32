// Development mailbox for `npm start`: MailDev catches every mail on a local SMTP port and shows it on a web page.

export interface DevMailboxOptions {
  smtpPort: number;
  webPort: number;
  /** Interface both servers bind to; loopback by default so the mailbox is not exposed. */
  host?: string;
}

export interface DevMailbox {
  smtpPort: number;
  webUrl: string;
  stop(): Promise<void>;
}

/** Starts MailDev; point config.smtp at `smtpPort` and read the mails at `webUrl`. Ports may be 0 (any free port). */
export async function startDevMailbox({ smtpPort, webPort, host = '127.0.0.1' }: DevMailboxOptions): Promise<DevMailbox> {
  // maildev ships as an ES module only; a dynamic import loads it from this CommonJS code.
  const { MailDev } = await import('maildev');
  const maildev = new MailDev({ smtp: smtpPort, web: webPort, ip: host, webIp: host, silent: true });
  const servers = await maildev.start();
  const boundWebPort = servers.api?.getPort() ?? webPort;
  return {
    smtpPort: servers.smtp.getPort(),
    webUrl: `http://${host.includes(':') ? `[${host}]` : host}:${boundWebPort}/`,
    stop: () => maildev.stop(),
  };
}
