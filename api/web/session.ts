// Sessions (express-session over the application database, so every web process sees the same ones), idle timeout and
// one-time form tokens against forged and replayed forms.
import crypto from 'node:crypto';
import session from 'express-session';
import type { Request, RequestHandler } from 'express';
import { ConnectSessionKnexStore } from 'connect-session-knex';
import type { Db } from '../../infra/db';
import type { Logger } from '../../infra/logger';
import { HttpError } from '../errors';
import { MESSAGES } from './messages';
import type { PendingDownload } from '../../domain';

declare module 'express-session' {
  interface SessionData {
    /** Set by a successful login on the enrollment pages. */
    enrollment?: { profile: string; userId: string };
    lastSeenAt?: number;
    formTokens?: string[];
    /** Its PKCS#12 sealed under the data key, since the session row is in the database. */
    pendingDownload?: PendingDownload;
  }
}

export interface SessionSettings {
  secret: string;
  /** Distinct names for the plain and TLS listeners: browsers share cookies across ports of a host. */
  cookieName: string;
  secure: boolean;
  idleTimeoutMs: number;
  store: session.Store;
  /** Where a session write that failed after the reply is reported. */
  logger?: Logger;
}

/** The table the migration 20261126_004_shared_state creates for the session store. */
export const SESSION_TABLE = 'web_sessions';
export const SESSION_CLEANUP_INTERVAL_MS = 60_000;

/** A session store that can stop its cleanup timer when the process closes its database. */
export interface SessionStore extends session.Store {
  /** Calls back with the error when the database fails (express-session's reply waits for it). */
  touch(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): Promise<void>;
  close(): void;
}

/** The callback already has the error: the promise the store also returns must not reject unhandled and end the process. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

class DatabaseSessionStore extends ConnectSessionKnexStore implements SessionStore {
  private closed = false;

  constructor(db: Db, cleanupIntervalMs: number, logger?: Logger) {
    super({
      knex: db,
      tableName: SESSION_TABLE,
      // The migration owns the schema: a missing table fails every session call, it is never made on the fly.
      createTable: false,
      cleanupInterval: cleanupIntervalMs,
      onDbCleanupError: (err) => {
        if (!this.closed) logger?.warn({ err }, 'deleting expired web sessions failed; the next cleanup tries again');
      },
    });
    handled(this.ready);
  }

  // express-session passes callbacks and drops the promises connect-session-knex returns besides.
  override get(sid: string, callback: (err: unknown, session?: session.SessionData | null) => void) {
    return handled(super.get(sid, callback));
  }

  override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void) {
    return handled(super.set(sid, data, callback));
  }

  override destroy(sid: string, callback?: (err?: unknown) => void) {
    return handled(super.destroy(sid, callback));
  }

  /** connect-session-knex never calls back when the update fails, and express-session's reply would wait forever. */
  override async touch(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): Promise<void> {
    try {
      await super.touch(sid, data);
    } catch (err) {
      return callback?.(err);
    }
    callback?.();
  }

  close(): void {
    this.closed = true;
    this.options.cleanupInterval = 0;
    clearTimeout(this.nextDbCleanup);
  }
}

/**
 * Sessions in the application database (connect-session-knex): a session written by one web process is read by any
 * other. Expired rows are deleted every `cleanupIntervalMs`, so anonymous visitors cannot make the table grow forever.
 */
export function createSessionStore(db: Db, options: { cleanupIntervalMs?: number; logger?: Logger } = {}): SessionStore {
  return new DatabaseSessionStore(db, options.cleanupIntervalMs ?? SESSION_CLEANUP_INTERVAL_MS, options.logger);
}

export function sessions(settings: SessionSettings): RequestHandler {
  const handler = session({
    name: settings.cookieName,
    secret: settings.secret,
    // express-session writes this listener's cookie settings onto its store (store.generate, used by regenerate): each
    // listener gets its own view of the one shared store, or the last one mounted would set the cookies of both.
    store: Object.create(settings.store) as session.Store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    unset: 'destroy',
    cookie: { httpOnly: true, secure: settings.secure, sameSite: 'strict', maxAge: settings.idleTimeoutMs, path: '/' },
  });
  return (req, res, next) =>
    handler(req, res, (err?: unknown) => {
      if (!err) return next();
      // A save, touch or end that failed after the reply was written (express-session's res.end hook): passed on,
      // Express's final handler would destroy the socket, and a proxy reusing that keep-alive connection for its next
      // request (a POST is never retried) would answer 502. The reply is whole; the failure is only logged.
      if (res.headersSent) {
        settings.logger?.warn({ err, path: req.path }, 'the web session could not be written after the reply');
        return;
      }
      // The session could not be read: nothing may act on it. Without its id, the reply does not end (delete) a
      // session it never read, as unset: 'destroy' would when the database answers again.
      if (req.session == null) delete (req as { sessionID?: string }).sessionID;
      next(err);
    });
}

/** Ends a session idle for longer than the timeout, so the page after it says so instead of acting. */
export function idleTimeout(idleTimeoutMs: number): RequestHandler {
  return (req, _res, next) => {
    const now = Date.now();
    const last = req.session.lastSeenAt;
    if (last !== undefined && now - last > idleTimeoutMs) {
      req.session.regenerate((err) => {
        if (err) return next(err);
        req.idleExpired = true;
        next();
      });
      return;
    }
    if (req.session.enrollment || req.session.formTokens?.length) req.session.lastSeenAt = now;
    next();
  };
}

declare module 'express-serve-static-core' {
  interface Request {
    /** The session this request carried had been idle too long and was ended. */
    idleExpired?: boolean;
  }
}

const MAX_OPEN_FORMS = 20;

/** A fresh token for one rendered form; the oldest is dropped once too many forms are open. */
export function issueFormToken(req: Request): string {
  const token = crypto.randomBytes(18).toString('base64url');
  const tokens = (req.session.formTokens ?? []).slice(-(MAX_OPEN_FORMS - 1));
  tokens.push(token);
  req.session.formTokens = tokens;
  req.session.lastSeenAt ??= Date.now();
  return token;
}

/** Accepts a form once: a forged form has no valid token, a replayed one finds its token spent. */
export function consumeFormToken(req: Request): void {
  const presented: unknown = (req.body as Record<string, unknown> | undefined)?.formToken;
  const tokens = req.session.formTokens ?? [];
  const index = typeof presented === 'string' ? tokens.findIndex((t) => safeEqual(t, presented)) : -1;
  if (index < 0) throw new HttpError(403, 'form_token_invalid', MESSAGES.formTokenInvalid);
  tokens.splice(index, 1);
  req.session.formTokens = tokens;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
