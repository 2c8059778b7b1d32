// What both listeners of the user's pages share: their dependencies, the profile in the path, and one sub-router
// per part of the site with its session, idle timeout, form parsing and no-cache headers.
import express, { Router, type Request, type RequestHandler } from 'express';
import type { Store as RateLimitStore } from 'express-rate-limit';
import type session from 'express-session';
import { isProfile, type DomainDeps, type LoginThrottlePolicy } from '../../domain';
import type { SupportContact } from '../../engines/mail';
import type { Logger } from '../../infra/logger';
import type { Profile } from '../../workflows/definitions';
import { HttpError } from '../errors';
import { routePattern } from '../http-metrics';
import { MESSAGES } from './messages';
import { idleTimeout, sessions } from './session';

/** The domain's services and the settings of the user's pages. */
export interface WebDeps extends DomainDeps {
  support: SupportContact;
  /** config.sessionSecret */
  sessionSecret: string;
  /** Where both listeners keep their sessions (createSessionStore over the application database), built once. */
  sessionStore: session.Store;
  /** The per-address login limit's counts (createRateLimitStore over the application database), shared by every web process. */
  loginAttempts: RateLimitStore;
  /** Idle time after which a login session ends (default 15 minutes). */
  idleTimeoutMs?: number;
  /** The per-user-ID throttle (default DEFAULT_LOGIN_THROTTLE): waits that grow with failures, never a lockout. */
  loginThrottle?: Partial<LoginThrottlePolicy>;
  /** Failed logins per client address (req.ip under `trust proxy`) and minute (default 30); successes are not counted. */
  loginFailuresPerMinute?: number;
  /**
   * The enrollment site's users reach it over HTTPS (the public URL is https://, served by certflow or a proxy): its
   * cookies carry Secure. Behind a proxy, CERTFLOW_TRUST_PROXY must let X-Forwarded-Proto say so.
   */
  secureCookies?: boolean;
  logger?: Logger;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60_000;

/** The profile named in the path, or a 404 page. */
export function profileParam(req: Request): Profile {
  const profile = req.params.profile;
  if (!isProfile(profile)) throw HttpError.notFound(MESSAGES.notFound);
  return profile;
}

export interface PageSettings {
  cookieName: string;
  secure: boolean;
  /**
   * Pages (paths under `<base>/:profile`) whose GET needs no session: no session is read, made or kept alive for it.
   * The login form is one (only a successful login opens a session): its views are the site's most frequent request,
   * and it opens while the session database does not answer.
   */
  sessionlessGets?: string[];
}

/**
 * Mounts `<base>/:profile` on `router` and returns the sub-router for its pages: the profile checked, a session under
 * its own cookie (browsers share cookies across ports), the idle timeout, small urlencoded forms, never cached or framed.
 */
export function mountPages(router: Router, base: string, deps: WebDeps, { sessionlessGets = [], ...cookie }: PageSettings): Router {
  const idleTimeoutMs = deps.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const pages = Router({ mergeParams: true });
  const sessionless = new Set(sessionlessGets);
  const unlessSessionless =
    (handler: RequestHandler): RequestHandler =>
    (req, res, next) =>
      (req.method === 'GET' || req.method === 'HEAD') && sessionless.has(req.path) ? next() : handler(req, res, next);
  router.use(
    `${base}/:profile`,
    routePattern(`${base}/:profile`),
    (req, _res, next) => (profileParam(req), next()),
    unlessSessionless(sessions({ secret: deps.sessionSecret, store: deps.sessionStore, ...cookie, idleTimeoutMs, logger: deps.logger })),
    unlessSessionless(idleTimeout(idleTimeoutMs)),
    pages,
  );
  pages.use(express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }));
  pages.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    res.set('X-Frame-Options', 'DENY');
    next();
  });
  return pages;
}
