// The HTTPS listener with TLS client authentication: renewal pages, the resume list and the portal gate.
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import express, { Router, type Request, type Response } from 'express';
import {
  createClientCertificateCheck,
  createKeyRetrieval,
  createRenewal,
  isProfile,
  isUserProfile,
  Refusal,
  type ClientCertificateCheck,
  type PresentedCertificate,
} from '../../domain';
import { PROFILES, rulesOf } from '../../workflows/definitions';
import { notFoundHandler } from '../errors';
import { securityHeaders } from '../security-headers';
import { measureRequests } from '../http-metrics';
import type { HttpRequestDuration } from '../../infra/metrics';
import { mountKeyRoutes } from '../web/key-routes';
import { contactPage, keyRetrievalPage, noticesPage, renewalMenu, renewalPaths } from '../web/pages';
import { pageErrorHandler } from '../web/pages-errors';
import { pageError, RENEWAL_ANSWERS } from '../web/refusals';
import { mountPages, profileParam, type WebDeps } from '../web/page-kit';
import { consumeFormToken, issueFormToken } from '../web/session';
import { processingPage, refusalPage, renewalApplyPage, renewalTopPage, resumeListPage } from './pages';
import type { TlsServerCertificate } from './server-certificate';
import { createConsoleRouter, type ConsoleSettings } from '../console/router';

export interface TlsDeps extends WebDeps {
  /** The listener's own certificate (ensureTlsServerCertificate). */
  serverCertificate: TlsServerCertificate;
  /** Times every request by route pattern (listener="tls"); without it nothing is timed. */
  requestDuration?: HttpRequestDuration;
  /** The support console's settings (/console/). */
  console: ConsoleSettings;
}

export const RENEWAL_COOKIE = 'certflow.renew';

/**
 * GET /portal/<profile>/: what the relying portal does — 200 with the certificate's subject as JSON (the subject is
 * the user's data: never echoed as markup), or 403 `forbidden`.
 */
export function portalGateRouter(check: ClientCertificateCheck): Router {
  const router = Router();
  router.get('/portal/:profile/', async (req, res) => {
    const profile = req.params.profile;
    // The gate stands for the users' portals: an operator's certificate opens the console, never a portal.
    const verdict = isUserProfile(profile) ? await check(req.socket as TLSSocket, profile, 'gate') : undefined;
    res.set('Cache-Control', 'no-store');
    if (!verdict?.ok) return void res.status(403).type('text/plain; charset=utf-8').send('forbidden');
    const { subject, serial, notAfter } = verdict.certificate;
    res.status(200).json({ subject, serial, notAfter });
  });
  return router;
}

export function createRenewalRouter(deps: WebDeps, check: ClientCertificateCheck): Router {
  const renewal = createRenewal(deps);

  const router = Router();
  const renew = mountPages(router, '/renew', deps, { cookieName: RENEWAL_COOKIE, secure: true });
  // Every renewal page needs a good certificate of this profile; otherwise a page says why, with the portal's 403.
  renew.use(async (req, res, next) => {
    const verdict = await check(req.socket as TLSSocket, profileParam(req), 'renewal');
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
    const refusal = await renewal.refusal(certificate);
    const refused = refusal && pageError(refusal, RENEWAL_ANSWERS);
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
      const answer = pageError(err, RENEWAL_ANSWERS);
      if (answer.status >= 500) throw err;
      const subscriber = await renewal.subscriber(certificate);
      sendPage(res, answer.status, renewalApplyPage({ profile: certificate.profile, certificate, ...subscriber, error: answer.message }));
    }
  });

  renew.get('/processing/:requestId', async (req, res) => {
    const request = await renewal.successor(presented(res), req.params.requestId);
    const state = await renewal.successorState(request);
    // Not started yet: the page refreshes itself until the successor awaits its key.
    if (state === undefined || state === 'reserved') return void sendPage(res, 200, processingPage({ profile: request.profile, requestId: request.requestId }));
    const refused = rulesOf(state).refuses.retrieveKey;
    if (!refused) return void res.redirect(303, paths(req).keyFor(request.requestId));
    throw new Refusal(refused, `the renewal request ${request.requestId} is ${state}`);
  });

  renew.get('/key', async (req, res) => {
    const requested = req.query.requestId;
    const requestId = requested === undefined ? undefined : (await renewal.successor(presented(res), requested)).requestId;
    sendPage(res, 200, keyRetrievalPage({ chrome: chromeOf(req), action: paths(req).key, token: issueFormToken(req), requestId, prefilled: requestId !== undefined }));
  });

  mountKeyRoutes(renew, {
    keys: createKeyRetrieval(deps),
    owner: (_req, res) => presented(res),
    kinds: ['renewal'],
    paths,
    chromeOf,
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

  renew.use(pageErrorHandler(deps.logger, (params) => (isProfile(params.profile) ? renewalMenu(params.profile) : undefined), RENEWAL_ANSWERS));
  return router;
}

/** How often a web process re-reads the CAs it names as acceptable (a rollover or a previous CA trusted by another process). */
export const ACCEPTABLE_CAS_REFRESH_MS = 30_000;

/**
 * The HTTPS server (not yet listening), with the portal gate, the support console and renewal: asks every client for a
 * certificate, naming every live generation of certflow's CAs and the previous CAs as acceptable (a browser offers only
 * certificates of a named CA; an imported one is needed for renewal).
 */
export async function createTlsServer(deps: TlsDeps): Promise<https.Server> {
  const check = createClientCertificateCheck(deps);
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders({ tls: true }));
  if (deps.requestDuration) app.use(measureRequests(deps.requestDuration, 'tls'));
  app.use(portalGateRouter(check));
  app.use(createConsoleRouter({ ...deps, ...deps.console }, check));
  app.use(createRenewalRouter(deps, check));
  app.use(notFoundHandler);
  app.use(pageErrorHandler(deps.logger));
  // Every live CA generation of every profile (after a rollover, the old and the new side by side), and the previous CAs.
  const acceptable = async () => {
    const now = await deps.clock();
    const certflowCas = await Promise.all(PROFILES.map((p) => deps.ca.caCertificatesPem(p, now)));
    return [...certflowCas, ...(await deps.previousCas.list()).map((c) => c.certificatePem)];
  };
  const context = (ca: string[]) => ({ key: deps.serverCertificate.keyPem, cert: deps.serverCertificate.certificatePem, ca, minVersion: 'TLSv1.2' as const });
  let named = await acceptable();
  const server = https.createServer(
    {
      ...context(named),
      requestCert: true,
      // The handshake admits any certificate so a page can say what is wrong with it; every route checks it.
      rejectUnauthorized: false,
    },
    app,
  );
  // A rollover (`npm run ca:rollover` in another process), an old CA's last certificate expiring or a previous CA
  // trusted elsewhere changes the list browsers choose a certificate from: re-read it.
  const refresh = setInterval(() => {
    acceptable().then(
      (cas) => {
        if (cas.join() === named.join()) return;
        named = cas;
        server.setSecureContext(context(cas));
      },
      (err: unknown) => deps.logger?.warn({ err }, 'the acceptable CAs could not be read; the TLS listener keeps the CAs it names'),
    );
  }, ACCEPTABLE_CAS_REFRESH_MS);
  refresh.unref();
  server.on('close', () => clearInterval(refresh));
  return server;
}
