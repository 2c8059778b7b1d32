// The Express application: health, the support/admin API and the user's pages, behind one error handler.
import express, { type Express, type Router } from 'express';
import { errorHandler, notFoundHandler, type HttpError } from './errors';
import { healthRouter, type HealthDeps } from './health';
import type { Logger } from '../infra/logger';

export interface AppDeps extends HealthDeps {
  logger: Logger;
  /** Routers mounted after /healthz, in order (support API, web pages…). */
  routers?: Router[];
  /** Renders an error as an HTML page for browsers; JSON otherwise. */
  renderErrorPage?: (err: HttpError) => string | undefined;
  /** Sent as X-Certflow-Process on every response, so a load balancer's spread can be seen; unset, no header. */
  processName?: string;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  const { processName } = deps;
  if (processName) {
    app.use((_req, res, next) => {
      res.set('X-Certflow-Process', processName);
      next();
    });
  }
  app.use(healthRouter(deps));
  for (const router of deps.routers ?? []) app.use(router);
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger, deps.renderErrorPage));
  return app;
}
