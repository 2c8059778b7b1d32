// The HTTPS listener with TLS client authentication: renewal pages, the resume list and the portal gate.
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import express, { Router, type Request, type Response } from 'express';
import { HttpError, notFoundHandler } from '../errors';
import { createKeyRetrieval, readKeyRetrievalForm } from '../../domain/key-retrieval';
import { MESSAGES } from '../web/messages';
import { contactPage, downloadPage, keyRetrievalPage, messagePage, noticesPage, renewalMenu, renewalPaths } from '../web/pages';
import { pageErrorHandler } from '../web/pages-errors';
import { DEFAULT_IDLE_TIMEOUT_MS, isProfile, profileParam, type WebDeps } from '../web/router';
import { consumeFormToken, idleTimeout, issueFormToken, sessions } from '../web/session';
import { createClientCertificateCheck, type ClientCertificateCheck, type PresentedCertificate } from '../../domain/client-certificate';
import { processingPage, refusalPage, renewalApplyPage, renewalTopPage, resumeListPage } from './pages';
import { createRenewal } from '../../domain/renewal';
import type { TlsServerCertificate } from './server-certificate';
import { PROFILES } from '../../workflows/definitions';

export interface TlsDeps extends WebDeps {
  /** The listener's own certificate (ensureTlsServerCertificate). */
  serverCertificate: TlsServerCertificate;
}

export const RENEWAL_COOKIE = 'certflow.renew';

/** GET /portal/<profile>/: what the relying portal does — 200 with the subject, or 403 `forbidden`. */
export function portalGateRouter(check: ClientCertificateCheck): Router {
  const router = Router();
  router.get('/portal/:profile/', async (req, res) => {
    const profile = req.params.profile;
    const verdict = isProfile(profile) ? await check(req.socket as TLSSocket, profile) : undefined;
    res.set('Cache-Control', 'no-store').type('text/plain; charset=utf-8');
    if (!verdict?.ok) return void res.status(403).send('forbidden');
    res.status(200).send(verdict.certificate.subject);
  });
  return router;
}

export function createRenewalRouter(deps: WebDeps, check: ClientCertificateCheck): Router {
  const clock = deps.clock ?? (() => new Date());
  const idleTimeoutMs = deps.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const keys = createKeyRetrieval({ db: deps.db, client: deps.client, ca: deps.ca, clock });
  const renewal = createRenewal({ db: deps.db, client: deps.client, profiles: deps.profiles, clock });

  const router = Router();
  const renew = Router({ mergeParams: true });
  router.use('/renew/:profile', (req, _res, next) => (profileParam(req), next()), sessions({ secret: deps.sessionSecret, cookieName: RENEWAL_COOKIE, secure: true, idleTimeoutMs }), idleTimeout(idleTimeoutMs), renew);
  renew.use(express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }));
  // Every renewal page needs a good certificate of this profile; otherwise a page says why, with the portal's 403.
  renew.use(async (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    res.set('X-Frame-Options', 'DENY');
    const verdict = await check(req.socket as TLSSocket, profileParam(req));
    if (!verdict.ok) return void res.status(403).type('html').send(refusalPage({ refusal: verdict.refusal }));
    res.locals.certificate = verdict.certificate;
    next();
  });

  const presented = (res: Response) => res.locals.certificate as PresentedCertificate;
  const chromeOf = (req: Request) => renewalMenu(profileParam(req));
  const paths = (req: Request) => renewalPaths(profileParam(req));
  const sendPage = (res: Response, status: number, body: string) => res.status(status).type('html').send(body);

  renew.get('/', (req, res) => {
    const profile = profileParam(req);
    sendPage(res, 200, renewalTopPage({ profile, serviceName: deps.profiles[profile].serviceName, certificate: presented(res) }));
  });

  renew.get('/apply', async (req, res) => {
    const certificate = presented(res);
    const refused = await renewal.refusal(certificate);
    const subscriber = await renewal.subscriber(certificate);
    const token = refused ? undefined : issueFormToken(req);
    sendPage(res, refused?.status ?? 200, renewalApplyPage({ profile: certificate.profile, certificate, ...subscriber, token, error: refused?.message }));
  });

  renew.post('/apply', async (req, res) => {
    const certificate = presented(res);
    try {
      consumeFormToken(req);
      const successorRequestId = await renewal.request(certificate);
      res.redirect(303, paths(req).processing(successorRequestId));
    } catch (err) {
      if (!(err instanceof HttpError) || err.status >= 500) throw err;
      const subscriber = await renewal.subscriber(certificate);
      sendPage(res, err.status, renewalApplyPage({ profile: certificate.profile, certificate, ...subscriber, error: err.message }));
    }
  });

  renew.get('/processing/:requestId', async (req, res) => {
    const request = await renewal.successor(presented(res), req.params.requestId);
    const state = await renewal.successorState(request);
    if (state === 'awaitingKeyRetrieval' || state === 'keyReady') return void res.redirect(303, paths(req).keyFor(request.requestId));
    if (state === undefined || state === 'reserved') return void sendPage(res, 200, processingPage({ profile: request.profile, requestId: request.requestId }));
    throw new HttpError(409, 'renewal_finished', state === 'active' || state === 'renewed' || state === 'expired' ? MESSAGES.keyAlreadyRetrieved : MESSAGES.requestWithdrawn);
  });

  renew.get('/key', async (req, res) => {
    const requested = req.query.requestId;
    const requestId = requested === undefined ? undefined : (await renewal.successor(presented(res), requested)).requestId;
    sendPage(res, 200, keyRetrievalPage({ chrome: chromeOf(req), action: paths(req).key, token: issueFormToken(req), requestId, prefilled: requestId !== undefined }));
  });

  renew.post('/key', async (req, res) => {
    const certificate = presented(res);
    const typed = typeof req.body?.requestId === 'string' ? req.body.requestId.slice(0, 15) : undefined;
    try {
      consumeFormToken(req);
      const form = readKeyRetrievalForm(req.body, certificate.userId);
      const request = await keys.ownedRequest(form.requestId, { profile: certificate.profile, userId: certificate.userId, kinds: ['renewal'] });
      req.session.pendingDownload = await keys.prepare(request, form.password);
      res.redirect(303, paths(req).download);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status >= 500) throw err;
      sendPage(res, err.status, keyRetrievalPage({ chrome: chromeOf(req), action: paths(req).key, token: issueFormToken(req), requestId: typed, prefilled: false, error: err.message }));
    }
  });

  const pendingFor = (req: Request, res: Response) => {
    const pending = req.session.pendingDownload;
    const certificate = presented(res);
    return pending && pending.userId === certificate.userId && pending.profile === certificate.profile ? pending : undefined;
  };

  renew.get('/download', (req, res) => {
    const pending = pendingFor(req, res);
    if (!pending) throw new HttpError(409, 'nothing_to_download', MESSAGES.nothingToDownload);
    sendPage(res, 200, downloadPage({ chrome: chromeOf(req), action: paths(req).download, token: issueFormToken(req), downloadDeadline: pending.downloadDeadline }));
  });

  renew.post('/download', async (req, res) => {
    consumeFormToken(req);
    const pending = pendingFor(req, res);
    const file = await keys.download(pending);
    delete req.session.pendingDownload;
    await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
    res.attachment(file.fileName).type('application/x-pkcs12').send(file.pkcs12);
    await keys.confirmDownload(pending!);
  });

  renew.get('/resume', async (req, res) => {
    const certificate = presented(res);
    sendPage(res, 200, resumeListPage({ profile: certificate.profile, commonName: certificate.commonName, rows: await renewal.successorsOf(certificate) }));
  });

  renew.get('/notices', (req, res) => sendPage(res, 200, noticesPage({ chrome: chromeOf(req) })));
  renew.get('/contact', (req, res) => {
    const profile = profileParam(req);
    sendPage(res, 200, contactPage({ chrome: chromeOf(req), support: deps.support, serviceName: deps.profiles[profile].serviceName }));
  });

  renew.use(pageErrorHandler(deps.logger, (params) => (isProfile(params.profile) ? renewalMenu(params.profile) : undefined)));
  return router;
}

/** The HTTPS server (not yet listening): asks every client for a certificate, naming only certflow's CAs as acceptable. */
export async function createTlsServer(deps: TlsDeps): Promise<https.Server> {
  const check = createClientCertificateCheck({ ca: deps.ca, clock: deps.clock ?? (() => new Date()) });
  const app = express();
  app.disable('x-powered-by');
  app.use(portalGateRouter(check));
  app.use(createRenewalRouter(deps, check));
  app.use(notFoundHandler);
  app.use(pageErrorHandler(deps.logger));
  const caCertificates = await Promise.all(PROFILES.map((p) => deps.ca.caCertificatePem(p)));
  return https.createServer(
    {
      key: deps.serverCertificate.keyPem,
      cert: deps.serverCertificate.certificatePem,
      ca: caCertificates,
      requestCert: true,
      // The handshake admits any certificate so a page can say what is wrong with it; every route checks it.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    app,
  );
}
