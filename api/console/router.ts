// The support console on the TLS listener (/console/): operators authenticated by their certificate, Japanese pages
// over the same use cases as the support API, every action confirmed, token-protected and audited.
import express, { Router, type ErrorRequestHandler } from 'express';
import type { ClientCertificateCheck } from '../../domain';
import { routePattern } from '../http-metrics';
import { errorBox } from '../web/layout';
import { DEFAULT_IDLE_TIMEOUT_MS, type WebDeps } from '../web/page-kit';
import { idleTimeout, sessions } from '../web/session';
import { mountConsoleActions } from './actions';
import { authenticateOperator } from './auth';
import { mountImportPages } from './import-pages';
import { CONSOLE_BASE, consoleErrorMessage, sendConsolePage, type ConsoleDeps } from './kit';
import { CONSOLE_SCRIPT, CONSOLE_SCRIPT_PATH } from './script';

export type { ConsoleDeps, ConsoleSettings } from './kit';
import { mountConsolePages } from './pages';

export const CONSOLE_COOKIE = 'certflow.console';

/** `router.use` of the console under /console; the caller's `check` is the TLS listener's certificate check. */
export function createConsoleRouter(deps: ConsoleDeps, check: ClientCertificateCheck): Router {
  const idleTimeoutMs = deps.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const pages = Router();
  pages.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    res.set('X-Frame-Options', 'DENY');
    next();
  });
  pages.get(CONSOLE_SCRIPT_PATH, (_req, res) => void res.type('text/javascript').send(CONSOLE_SCRIPT));
  // Before the console's body parser: the upload carries a file of up to 5 MB.
  mountImportPages(pages, deps);
  pages.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 20 }));
  mountConsolePages(pages, deps);
  mountConsoleActions(pages, deps);
  pages.use((_req, res) => sendConsolePage(res, 404, 'ページが見つかりません', errorBox('このページはありません。')));
  pages.use(consoleErrorHandler(deps));

  const router = Router();
  router.use(
    CONSOLE_BASE,
    routePattern(CONSOLE_BASE),
    // Before the session: a refused visitor gets no session and sees nothing of the console.
    authenticateOperator(deps, check),
    sessions({ secret: deps.sessionSecret, store: deps.sessionStore, cookieName: CONSOLE_COOKIE, secure: true, idleTimeoutMs, logger: deps.logger }),
    idleTimeout(idleTimeoutMs),
    pages,
  );
  return router;
}

function consoleErrorHandler(deps: Pick<WebDeps, 'logger'>): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { status, message } = consoleErrorMessage(err);
    if (status >= 500) deps.logger?.error({ err, path: req.path }, 'console page failed');
    if (res.headersSent) return;
    sendConsolePage(res, status, 'エラー', errorBox(message));
  };
}
