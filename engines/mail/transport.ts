// The SMTP transport (nodemailer, pooled) and the one rule that tells a permanent refusal from a passing outage.
import nodemailer, { type Transporter } from 'nodemailer';

/** SMTP settings as in config.smtp. */
export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
}

const relay = (settings: SmtpSettings) => ({
  host: settings.host,
  port: settings.port,
  secure: settings.secure,
  auth: settings.user ? { user: settings.user, pass: settings.password ?? '' } : undefined,
});

/** A pooled transport: connections are reused across mails; close it at shutdown. */
export function createSmtpTransport(settings: SmtpSettings, pool: { maxConnections?: number } = {}): Transporter {
  return nodemailer.createTransport({
    pool: true,
    maxConnections: pool.maxConnections ?? 5,
    maxMessages: Infinity,
    ...relay(settings),
    // Bounded waits keep one attempt well inside the outbox lease.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
}

/**
 * Whether the relay answers: connect, greeting, EHLO and login (nodemailer's verify) on a connection of its own.
 * The pool's verify would also open its own connection, but under the pool's 10 s timeouts; this one gives up
 * within `timeoutMs`, so a readiness probe leaves nothing behind.
 */
export async function verifySmtp(settings: SmtpSettings, timeoutMs: number): Promise<void> {
  const transport = nodemailer.createTransport({
    ...relay(settings),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    await transport.verify();
  } finally {
    transport.close();
  }
}

export function isTransporter(t: Transporter | SmtpSettings): t is Transporter {
  return typeof (t as Transporter).sendMail === 'function';
}

/**
 * A 5xx reply to the recipient or to the message itself will not change on retry; everything else
 * (connection refused, timeouts, 4xx, 421, a refused sender or login: our side) may heal.
 */
export function isPermanentRefusal(err: unknown): boolean {
  const e = err as { code?: string; responseCode?: number; command?: string };
  return (
    (e?.code === 'EENVELOPE' || e?.code === 'EMESSAGE') &&
    !/^MAIL FROM/i.test(e.command ?? '') &&
    typeof e.responseCode === 'number' &&
    e.responseCode >= 500 &&
    e.responseCode < 600 &&
    e.responseCode !== 503
  );
}
