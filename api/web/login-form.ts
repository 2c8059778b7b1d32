// The login form's token without a stored session: anonymous views of the login page must not cost a database row.
// An HMAC (keyed from the session secret) over the profile, the time of issue and a random nonce that the browser keeps
// in a SameSite cookie (double submit), so a token is good for a limited time, from the browser it was given to only.
// csrf-csrf does the double submit but has no expiry of its own, hence this small helper.
import crypto from 'node:crypto';
import cookieParser from 'cookie-parser';
import type { Request, RequestHandler, Response } from 'express';
import { HttpError } from '../errors';
import { MESSAGES } from './messages';
import { safeEqual } from './session';

export interface LoginFormTokenSettings {
  /** config.sessionSecret */
  secret: string;
  /** The listener's session cookie; the nonce cookie is named after it. */
  cookieName: string;
  secure: boolean;
  /** How long a rendered login form can be posted (the idle timeout, as for every other form). */
  ttlMs: number;
  clock?: () => number;
}

export interface LoginFormTokens {
  /** Parses the nonce cookie: mount it before the login routes. */
  cookies: RequestHandler;
  /** A token for one rendered login form; gives the browser its nonce cookie unless it has one already. */
  issue(req: Request, res: Response, profile: string): string;
  /** Accepts the posted form, or throws the 403 of a forged, foreign or stale one. */
  verify(req: Request, profile: string): void;
  /** After a successful login the nonce goes, so the form just used cannot be posted again. */
  spend(res: Response, profile: string): void;
}

/** Clocks of several web processes differ a little: a token issued by one slightly ahead is still accepted. */
const CLOCK_SKEW_MS = 30_000;
const NONCE = /^[A-Za-z0-9_-]{24}$/;

export function createLoginFormTokens(settings: LoginFormTokenSettings): LoginFormTokens {
  const clock = settings.clock ?? Date.now;
  // A key of its own, derived from the session secret, so these MACs never serve as anything else's signature.
  const key = crypto.createHmac('sha256', settings.secret).update('certflow:web:login-form-token').digest();
  const cookieName = `${settings.cookieName}.login`;
  const cookiePath = (profile: string) => `/enroll/${profile}/login`;
  const mac = (profile: string, issuedAt: number, nonce: string) =>
    crypto.createHmac('sha256', key).update(`${profile}\n${issuedAt}\n${nonce}`).digest('base64url');
  const nonceOf = (req: Request): string | undefined => {
    const value: unknown = (req.cookies as Record<string, unknown> | undefined)?.[cookieName];
    return typeof value === 'string' && NONCE.test(value) ? value : undefined;
  };
  const refuse = () => new HttpError(403, 'form_token_invalid', MESSAGES.formTokenInvalid);

  return {
    cookies: cookieParser(),

    issue(req, res, profile) {
      const nonce = nonceOf(req) ?? crypto.randomBytes(18).toString('base64url');
      res.cookie(cookieName, nonce, { httpOnly: true, secure: settings.secure, sameSite: 'strict', path: cookiePath(profile), maxAge: settings.ttlMs });
      const issuedAt = clock();
      return `${issuedAt.toString(36)}.${mac(profile, issuedAt, nonce)}`;
    },

    verify(req, profile) {
      const presented: unknown = (req.body as Record<string, unknown> | undefined)?.formToken;
      const nonce = nonceOf(req);
      if (typeof presented !== 'string' || !nonce) throw refuse();
      const [time, signature, ...rest] = presented.split('.');
      const issuedAt = /^[0-9a-z]{1,12}$/.test(time ?? '') ? parseInt(time!, 36) : NaN;
      const age = clock() - issuedAt;
      if (rest.length || !signature || !(age >= -CLOCK_SKEW_MS && age <= settings.ttlMs)) throw refuse();
      if (!safeEqual(signature, mac(profile, issuedAt, nonce))) throw refuse();
    },

    spend(res, profile) {
      res.clearCookie(cookieName, { httpOnly: true, secure: settings.secure, sameSite: 'strict', path: cookiePath(profile) });
    },
  };
}
