// The Express application: the ops routes (liveness, readiness, metrics), the support/admin API and the user's pages,
// behind one error handler, every request timed.
import express, { type Express, type Router } from 'express';
import { errorHandler, notFoundHandler, type HttpError } from './errors';
import { measureRequests } from './http-metrics';
import { createOpsRouter, type OpsDeps } from './ops';
import { securityHeaders } from './security-headers';
import type { HttpRequestDuration } from '../infra/metrics';
import type { Logger } from '../infra/logger';

export interface AppDeps {
  logger: Logger;
  /** /healthz, /readyz and /metrics. */
  ops: OpsDeps;
  /** Times every request by route pattern; without it nothing is timed. */
  requestDuration?: HttpRequestDuration;
  /** Routers mounted after the ops routes, in order (support API, web pages…). */
  routers?: Router[];
  /** Renders an error as an HTML page for browsers; JSON otherwise. */
  renderErrorPage?: (err: HttpError) => string | undefined;
  /** Sent as X-Certflow-Process on every response, so a load balancer's spread can be seen; unset, no header. */
  processName?: string;
  /** Express's `trust proxy`: behind a proxy, which hops' X-Forwarded-For names the client (rate limits, logs). */
  trustProxy?: string;
  /** The app is reached over HTTPS (by certflow's own TLS or a proxy's): HSTS is sent. */
  https?: boolean;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? false);
  app.use(securityHeaders({ tls: deps.https ?? false }));
  const { processName } = deps;
  if (processName) {
    app.use((_req, res, next) => {
      res.set('X-Certflow-Process', processName);
      next();
    });
  }
  if (deps.requestDuration) app.use(measureRequests(deps.requestDuration, 'http'));
  app.use(createOpsRouter(deps.ops));
  for (const router of deps.routers ?? []) app.use(router);
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger, deps.renderErrorPage));
  return app;
}
