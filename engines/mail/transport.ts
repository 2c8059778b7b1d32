// The SMTP transport (nodemailer, pooled), the rules that tell a refusal from an outage, and when a body went out.
import nodemailer, { type Transporter } from 'nodemailer';

/** SMTP settings as in config.smtp. */
export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  /** How long to wait for any answer of the relay, the "250" after a body included (default SMTP_REPLY_TIMEOUT_MS). */
  replyTimeoutMs?: number;
}

/** RFC 5321 §4.5.3.2.6: a client should wait 10 minutes for the answer to the end of a message's data. */
export const SMTP_REPLY_TIMEOUT_MS = 10 * 60_000;

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
    // Nothing is sent before the greeting, so a short wait there is safe; the relay's answers get the RFC's patience.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: settings.replyTimeoutMs ?? SMTP_REPLY_TIMEOUT_MS,
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

/**
 * The relay answered this attempt with a reply code (4xx/5xx): it said it did not take the message, so the outcome is
 * known. An error without one (a timeout, a dropped connection) says nothing about what the relay did.
 */
export function hasRelayAnswer(err: unknown): boolean {
  const code = (err as { responseCode?: unknown })?.responseCode;
  return typeof code === 'number' && code >= 400 && code < 600;
}

type BodySentWatchers = Map<string, () => void>;
const watchersOf = new WeakMap<Transporter, BodySentWatchers>();

/**
 * Reports when the body of a message (by Message-ID) has been handed to the connection in full: from then on the
 * relay may have the whole message and accept it, whatever becomes of its answer. Before it, the final "." cannot
 * have been sent and the relay cannot have accepted anything. One nodemailer stream plugin per transport.
 */
export function bodySentWatcher(transport: Transporter): (messageId: string, onSent: () => void) => () => void {
  let watchers = watchersOf.get(transport);
  if (!watchers) {
    const registered: BodySentWatchers = new Map();
    watchers = registered;
    watchersOf.set(transport, registered);
    transport.use('stream', (mail, done) => {
      const messageId = mail.data.messageId;
      if (typeof messageId === 'string' && registered.has(messageId)) {
        // The last stage before the SMTP connection's dot-stuffing: its end is the end of the body on the wire.
        mail.message.processFunc((input) => {
          input.once('end', () => registered.get(messageId)?.());
          return input;
        });
      }
      done();
    });
  }
  const own = watchers;
  return (messageId, onSent) => {
    own.set(messageId, onSent);
    return () => {
      if (own.get(messageId) === onSent) own.delete(messageId);
    };
  };
}
