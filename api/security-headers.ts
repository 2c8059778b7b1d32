// The response headers every certflow page and answer carries (helmet): no inline script may run, nothing is sniffed,
// no referrer leaves, and over TLS the browser is told to stay on HTTPS.
import helmet from 'helmet';
import type { RequestHandler } from 'express';

/**
 * Scripts only from certflow itself (pages carry none inline); styles may be inline (each page carries its own
 * stylesheet); forms post only back to certflow; no page may be framed.
 */
const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
};

/** `tls`: the listener speaks HTTPS, so HSTS may be sent (over plain HTTP a browser ignores it anyway). */
export function securityHeaders({ tls }: { tls: boolean }): RequestHandler {
  return helmet({
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    strictTransportSecurity: tls ? { maxAge: 31_536_000, includeSubDomains: false } : false,
    referrerPolicy: { policy: 'no-referrer' },
    // The documentation page and the pages load nothing cross-origin; these would only get in a portal's way.
    crossOriginEmbedderPolicy: false,
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
}
