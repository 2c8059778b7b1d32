// Sessions (express-session, a bounded memory store that prunes idle sessions), idle timeout and one-time form tokens against forged and replayed forms.
import crypto from 'node:crypto';
import session from 'express-session';
import type { Request, RequestHandler } from 'express';
import { HttpError } from '../errors';
import { MESSAGES } from './messages';
import createMemoryStore from 'memorystore';
import type { PendingDownload } from '../../domain';

declare module 'express-session' {
  interface SessionData {
    /** Set by a successful login on the enrollment pages. */
    enrollment?: { profile: string; userId: string };
    lastSeenAt?: number;
    formTokens?: string[];
    pendingDownload?: PendingDownload;
  }
}

export interface SessionSettings {
  secret: string;
  /** Distinct names for the plain and TLS listeners: browsers share cookies across ports of a host. */
  cookieName: string;
  secure: boolean;
  idleTimeoutMs: number;
  store?: session.Store;
}

/** Sessions held at once; beyond it the least recently used goes, so a flood of anonymous views cannot exhaust memory. */
export const MAX_SESSIONS = 100_000;

const BoundedMemoryStore = createMemoryStore(session);

/**
 * express-session's own MemoryStore never drops a session nobody asks for again: every visitor would stay forever.
 * This one prunes sessions past their idle timeout and holds at most `max`.
 */
export function createSessionStore(idleTimeoutMs: number, max = MAX_SESSIONS): InstanceType<typeof BoundedMemoryStore> {
  return new BoundedMemoryStore({ checkPeriod: idleTimeoutMs, ttl: idleTimeoutMs, max });
}

export function sessions(settings: SessionSettings): RequestHandler {
  return session({
    name: settings.cookieName,
    secret: settings.secret,
    store: settings.store ?? createSessionStore(settings.idleTimeoutMs),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    unset: 'destroy',
    cookie: { httpOnly: true, secure: settings.secure, sameSite: 'strict', maxAge: settings.idleTimeoutMs, path: '/' },
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

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
