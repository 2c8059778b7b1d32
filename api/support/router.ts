// The support/admin API: every route declared once in the contract (api/support/contract.ts), served from the
// declarations behind bearer-token roles, with an audit row for every change and the OpenAPI document they make.
import { Router } from 'express';
import { routePattern } from '../http-metrics';
import { auditRoutes } from './audit-routes';
import { authenticate } from './auth';
import { certificateRoutes } from './certificate-routes';
import { consoleRoutes } from './console-routes';
import { API_BASE, mountRoutes, openApiDocument, type SupportRoute, type SupportRouterDeps } from './contract';
import { docsRoutes } from './docs-routes';
import { importRoutes } from './import-routes';
import { migrationRoutes } from './migration-routes';
import { operatorRoutes } from './operator-routes';

export type { SupportRouterDeps } from './contract';

/**
 * Every route of the support API; a module that adds routes exports its declarations and is listed here. Express
 * serves the first match: a literal path (`/requests/awaiting-retrieval`) comes before a pattern that would take it
 * (`/requests/:requestId`), which mountRoutes checks.
 */
export const SUPPORT_ROUTES: readonly SupportRoute[] = [
  ...docsRoutes(() => supportApiDocument()),
  ...consoleRoutes,
  ...certificateRoutes,
  ...operatorRoutes,
  ...auditRoutes,
  // POST /imports/certificate before POST /imports/:kind.
  ...migrationRoutes,
  ...importRoutes,
];

let document: Record<string, unknown> | undefined;

/** The support API's OpenAPI 3.1 document, built once from SUPPORT_ROUTES. */
export function supportApiDocument(): Record<string, unknown> {
  return (document ??= openApiDocument(SUPPORT_ROUTES, {
    title: 'certflow support/admin API',
    version: '1',
    description:
      'The support centre and the operator over HTTP: registration, reissue, revocation, new requests, unlock, password reset, look-ups and lists; the support console\'s finds, timeline, audit trail, certificate diagnosis and mail resend; the console\'s operators; bulk registration and the migration import from CSV files with their progress, previous CAs and the import of one existing certificate. ' +
      'Authenticate with `Authorization: Bearer <token>` (CERTFLOW_API_TOKENS); `admin` may do everything `support` may. ' +
      'Every state-changing call is audited with the status it was answered.',
  }));
}

export function createSupportRouter(deps: SupportRouterDeps): Router {
  const api = Router();
  mountRoutes(api, SUPPORT_ROUTES, deps, authenticate(deps.apiTokens));
  const router = Router();
  router.use(API_BASE, routePattern(API_BASE), api);
  return router;
}
