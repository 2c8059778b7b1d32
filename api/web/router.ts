// The plain-HTTP side of the user's pages: enrollment (ユーザ認証 → menu → 鍵の取得 → Download), CRLs, CA certificates, OCSP.
import express, { Router, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import {
  createCertificateDetails,
  createEnrollmentLogin,
  createKeyRetrieval,
  DEFAULT_LOGIN_THROTTLE,
  isProfile,
  Refusal,
} from '../../domain';
import type { Profile } from '../../workflows/definitions';
import { HttpError } from '../errors';
import { routePattern } from '../http-metrics';
import { OCSP_INTERNAL_ERROR, OCSP_MALFORMED_REQUEST } from '../../engines/pki';
import { formField, typedRequestId } from './forms';
import { mountKeyRoutes } from './key-routes';
import { loginDelayed, MESSAGES } from './messages';
import {
  certificateRetrievalPage,
  contactPage,
  enrollmentMenu,
  enrollmentPaths,
  enrollmentTopPage,
  keyRetrievalPage,
  loginPage,
  messagePage,
  noticesPage,
  requestDetailsFormPage,
  requestDetailsPage,
  requestListPage,
} from './pages';
import { pageErrorHandler } from './pages-errors';
import { pageError } from './refusals';
import { consumeFormToken, issueFormToken } from './session';
import { createLoginFormTokens } from './login-form';
import { DEFAULT_IDLE_TIMEOUT_MS, mountPages, profileParam, type WebDeps } from './page-kit';

export const ENROLLMENT_COOKIE = 'certflow.enroll';

/** An OCSP request is ~100 bytes for one serial; base64 in a GET path or a POST body past this is not one. */
const OCSP_REQUEST_LIMIT = 8192;

/** The DER request in a GET path (`/<url-encoded base64>`); undefined when it cannot be one. */
function base64Request(url: string): Buffer | undefined {
  const raw = url.replace(/^\//, '').replace(/\?.*$/, '');
  if (raw.length > OCSP_REQUEST_LIMIT * 3) return undefined; // every character %-escaped at worst
  let base64: string;
  try {
    base64 = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return /^[A-Za-z0-9+/]+={0,2}$/.test(base64) && base64.length <= OCSP_REQUEST_LIMIT ? Buffer.from(base64, 'base64') : undefined;
}

/**
 * GET /crl/<profile>.crl (and /crl/<profile>.g<n>.crl for the CA generations after a rollover), GET /ca/<profile>.pem and the OCSP responder at /ocsp/<profile> (RFC 6960 appendix A: POST
 * application/ocsp-request, or GET /ocsp/<profile>/<url-encoded base64 request>): what relying parties ask; no session.
 */
export function publicationRouter({ ca, clock, logger }: Pick<WebDeps, 'ca' | 'clock' | 'logger'>): Router {
  const router = Router();
  const profileFrom = (file: string, suffix: string) => {
    const name = file.endsWith(suffix) ? file.slice(0, -suffix.length) : '';
    if (!isProfile(name)) throw HttpError.notFound(`no such profile: ${file}`);
    return name;
  };
  // Portals poll the CRL: the engine serves the signed CRL from memory (re-read only when the database's CRL number changed).
  const currentCrl = async (profile: Profile, generation: number | undefined) => ca.crl(profile, await clock(), generation ?? 1);
  // <profile>.crl is the first CA generation's CRL, <profile>.g<n>.crl a later one's: the URL each certificate carries.
  router.get('/crl/:file', async (req, res) => {
    const [, name, generation] = /^(.*?)(?:\.g([2-9]|[1-9]\d{1,3}))?\.crl$/.exec(req.params.file) ?? [];
    const profile = profileFrom(`${name}.crl`, '.crl');
    const der = await currentCrl(profile, generation === undefined ? undefined : Number(generation));
    res.set('Cache-Control', 'public, max-age=60').type('application/pkix-crl').send(der);
  });
  const ocspProfile = (req: Request) => {
    const name = req.params.profile;
    if (!isProfile(name)) throw HttpError.notFound(`no such profile: ${name}`);
    return name;
  };
  // No caching by intermediaries: a revocation must show in the very next answer.
  const sendOcsp = (res: Response, der: Buffer, status = 200) =>
    res.status(status).set('Cache-Control', 'no-cache').type('application/ocsp-response').send(der);
  const answerOcsp = async (res: Response, profile: Profile, request: Buffer | undefined) => {
    if (!request || request.length === 0) return sendOcsp(res, OCSP_MALFORMED_REQUEST);
    try {
      sendOcsp(res, await ca.ocspResponse(profile, request, await clock()));
    } catch (err) {
      // Still an OCSP answer a client can read; the 5xx is for monitoring (database or CA unavailable).
      logger?.error({ err, profile }, 'OCSP request failed');
      sendOcsp(res, OCSP_INTERNAL_ERROR, 500);
    }
  };
  const rawOcspBody = express.raw({ type: 'application/ocsp-request', limit: OCSP_REQUEST_LIMIT });
  // A mount, not a route: the GET form's base64 is taken from the raw path, since a bad %-escape in a route
  // parameter is Express's own 400 and an OCSP client must get a malformedRequest answer instead.
  router.use('/ocsp/:profile', routePattern('/ocsp/:profile'), (req, res, next) => {
    const profile = ocspProfile(req);
    if (req.method === 'POST' && req.path === '/') {
      // Another content type, or a body past the limit, is a malformed request, answered as OCSP answers one.
      return rawOcspBody(req, res, (err?: unknown) => {
        if (err || !Buffer.isBuffer(req.body)) return void sendOcsp(res, OCSP_MALFORMED_REQUEST);
        answerOcsp(res, profile, req.body).catch(next);
      });
    }
    if (req.method !== 'GET') return next();
    answerOcsp(res, profile, base64Request(req.url)).catch(next);
  });
  router.get('/ca/:file', async (req, res) => {
    const profile = profileFrom(req.params.file, '.pem');
    // Every CA generation with a certificate still valid, side by side: relying parties trust the old and the new at once.
    res.set('Cache-Control', 'public, max-age=3600').type('application/x-pem-file').send(await ca.caCertificatesPem(profile, await clock()));
  });
  return router;
}

export function createWebRouter(deps: WebDeps): Router {
  const login = createEnrollmentLogin(deps, { ...DEFAULT_LOGIN_THROTTLE, ...deps.loginThrottle }, (err) =>
    deps.logger?.warn({ err }, 'the mail warning of failed logins was not sent; the next failure tries again'),
  );
  const certificates = createCertificateDetails(deps);

  const router = Router();
  router.use(publicationRouter(deps));

  const enroll = mountPages(router, '/enroll', deps, { cookieName: ENROLLMENT_COOKIE, secure: deps.secureCookies ?? false, sessionlessGets: ['/login'] });

  const service = (profile: Profile) => ({ profile, serviceName: deps.profiles[profile].serviceName });
  const chromeOf = (req: Request) => enrollmentMenu(profileParam(req));

  /** The logged-in user of this profile, or the page telling them to start again from the mail. */
  function loggedIn(req: Request): { profile: Profile; userId: string } {
    const profile = profileParam(req);
    const who = req.session.enrollment;
    if (!who || who.profile !== profile) throw new HttpError(401, 'session_invalid', MESSAGES.sessionInvalid);
    return { profile, userId: who.userId };
  }

  const sendPage = (res: Response, status: number, body: string) => res.status(status).type('html').send(body);

  // The login form holds no session: only a successful login creates one.
  const loginForms = createLoginFormTokens({
    secret: deps.sessionSecret,
    cookieName: ENROLLMENT_COOKIE,
    secure: deps.secureCookies ?? false,
    ttlMs: deps.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
  });

  enroll.get('/login', loginForms.cookies, (req, res) => {
    const profile = profileParam(req);
    sendPage(res, 200, loginPage({ service: service(profile), token: loginForms.issue(req, res, profile) }));
  });

  // Per client address (req.ip, as `trust proxy` names it), failures only: a bank's users behind one proxy who type their
  // password right are never counted, one address guessing at many user IDs is.
  const loginLimiter = rateLimit({
    windowMs: 60_000,
    limit: deps.loginFailuresPerMinute ?? 30,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Counted in the database: every web process behind the proxy adds to the same count.
    store: deps.loginAttempts,
    handler: (req, res) => sendPage(res, 429, messagePage({ title: 'しばらくお待ちください', message: MESSAGES.loginRateLimited })),
  });

  enroll.post('/login', loginLimiter, loginForms.cookies, async (req, res) => {
    const profile = profileParam(req);
    let userId = '';
    try {
      loginForms.verify(req, profile);
      userId = (formField(req.body, 'userId', { maxLength: 64 }) ?? '').trim();
      const password = formField(req.body, 'password', { maxLength: 128 }) ?? '';
      if (!userId || !password) throw new HttpError(401, 'login_failed', MESSAGES.loginFailed);
      const result = await login.authenticate(profile, userId, password);
      if (result.outcome === 'wait') {
        res.set('Retry-After', String(Math.ceil(result.retryAfterMs / 1000)));
        throw new HttpError(429, 'login_delayed', loginDelayed(result.retryAfterMs));
      }
      if (result.outcome === 'failed') throw new HttpError(401, 'login_failed', MESSAGES.loginFailed);
      const { user } = result;
      // A fresh session at login: an identifier planted before it (session fixation) is worth nothing after.
      await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
      req.session.enrollment = { profile, userId: user.userId };
      req.session.lastSeenAt = Date.now();
      loginForms.spend(res, profile);
      res.redirect(303, enrollmentPaths(profile).menu);
    } catch (err) {
      const answer = pageError(err);
      if (answer.status >= 500) throw err;
      const token = loginForms.issue(req, res, profile);
      sendPage(res, answer.status, loginPage({ service: service(profile), token, userId: userId.slice(0, 64), error: answer.message }));
    }
  });

  enroll.get('/logout', (req, res) => {
    req.session.destroy(() => {
      res.clearCookie(ENROLLMENT_COOKIE);
      sendPage(res, 200, messagePage({ title: 'ログアウト', message: MESSAGES.loggedOut }));
    });
  });

  enroll.get('/', (req, res) => {
    const { profile, userId } = loggedIn(req);
    sendPage(res, 200, enrollmentTopPage({ profile, userId }));
  });

  enroll.get('/key', (req, res) => {
    loggedIn(req);
    sendPage(res, 200, keyRetrievalPage({ chrome: chromeOf(req), action: enrollmentPaths(profileParam(req)).key, token: issueFormToken(req) }));
  });

  mountKeyRoutes(enroll, {
    keys: createKeyRetrieval(deps),
    owner: (req) => loggedIn(req),
    kinds: ['new', 'reissue'],
    paths: (req) => enrollmentPaths(profileParam(req)),
    chromeOf,
  });

  enroll.get('/requests', async (req, res) => {
    const { profile, userId } = loggedIn(req);
    const rows = await deps.stores.requests.list({ userId, profile, limit: 50 });
    sendPage(res, 200, requestListPage({ profile, rows: rows.filter((r) => r.status !== 'reserved') }));
  });

  enroll.get('/details', async (req, res) => {
    const { profile, userId } = loggedIn(req);
    const asked = req.query.requestId;
    if (asked === undefined) return sendPage(res, 200, requestDetailsFormPage({ profile }));
    const typed = typeof asked === 'string' ? asked.trim().slice(0, 15) : undefined;
    try {
      if (typeof asked !== 'string') throw Refusal.invalid('requestId must be given once', 'requestId');
      const { request, certificate } = await certificates.details(asked.trim(), { profile, userId });
      sendPage(res, 200, requestDetailsPage({ profile, details: { ...request, certificate } }));
    } catch (err) {
      // Looking up a request that is not the user's is a page that does not exist for them, as on the renewal side.
      const answer = pageError(err, { requestUnknown: [404, 'request_id_invalid', MESSAGES.requestIdInvalid] });
      if (answer.status >= 500) throw err;
      sendPage(res, answer.status, requestDetailsFormPage({ profile, requestId: typed, error: answer.message }));
    }
  });

  enroll.get('/certificate', (req, res) => {
    const { profile } = loggedIn(req);
    sendPage(res, 200, certificateRetrievalPage({ profile, token: issueFormToken(req) }));
  });

  enroll.post('/certificate', async (req, res) => {
    const { profile, userId } = loggedIn(req);
    try {
      consumeFormToken(req);
      const requestId = (formField(req.body, 'requestId', { maxLength: 64 }) ?? '').trim();
      const file = await certificates.certificateFile(requestId, { profile, userId });
      res.attachment(file.fileName).type('application/pkix-cert').send(file.der);
    } catch (err) {
      const answer = pageError(err);
      if (answer.status >= 500) throw err;
      sendPage(res, answer.status, certificateRetrievalPage({ profile, token: issueFormToken(req), requestId: typedRequestId(req.body), error: answer.message }));
    }
  });

  enroll.get('/notices', (req, res) => {
    loggedIn(req);
    sendPage(res, 200, noticesPage({ chrome: chromeOf(req) }));
  });

  enroll.get('/contact', (req, res) => {
    const profile = profileParam(req);
    sendPage(res, 200, contactPage({ chrome: chromeOf(req), support: deps.support, serviceName: deps.profiles[profile].serviceName }));
  });

  enroll.use(pageErrorHandler(deps.logger, (params) => (isProfile(params.profile) ? enrollmentMenu(params.profile) : undefined)));
  return router;
}
