// Request durations for Prometheus, labelled by the Express route pattern (`/enroll/:profile/key`), never the raw
// URL, so the number of series stays bounded whatever clients send.
import type { Request, RequestHandler } from 'express';
import type { HttpListener, HttpRequestDuration } from '../infra/metrics';

const MOUNTS = Symbol('certflow.routeMounts');
const ROUTE_LABEL = Symbol('certflow.routeLabel');
const DEEPEST_MOUNT = Symbol('certflow.deepestMount');

type Labelled = Request & { [MOUNTS]?: Map<string, string>; [ROUTE_LABEL]?: string; [DEEPEST_MOUNT]?: string };

export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Put first in a `router.use(pattern, …)` whose pattern has parameters (or any path): it tells the metrics what the
 * mount's pattern was, since Express keeps only the matched path (`/enroll/kdanshinnet`) in req.baseUrl.
 */
export function routePattern(pattern: string): RequestHandler {
  return (req, _res, next) => {
    const r = req as Labelled;
    const mounts = (r[MOUNTS] ??= new Map<string, string>());
    const full = enclosingPattern(mounts, req.baseUrl) + pattern;
    mounts.set(req.baseUrl, full);
    if (full.length > (r[DEEPEST_MOUNT]?.length ?? 0)) r[DEEPEST_MOUNT] = full;
    next();
  };
}

/** The pattern of the labelled mount this one sits in: the longest recorded path that leads to it. */
function enclosingPattern(mounts: Map<string, string>, baseUrl: string): string {
  let best: string | undefined;
  for (const path of mounts.keys()) {
    if (baseUrl.startsWith(`${path}/`) && (best === undefined || path.length > best.length)) best = path;
  }
  return best === undefined ? '' : mounts.get(best)!;
}

/** Times every request of one listener into `histogram`; mount it before every other handler. */
export function measureRequests(histogram: HttpRequestDuration, listener: HttpListener): RequestHandler {
  return (req, res, next) => {
    const end = histogram.startTimer({ listener, method: req.method });
    const r = req as Labelled;
    let route: unknown;
    // The router sets req.route when a route matches, while req.baseUrl still names that route's mount: the label is
    // taken then, because an error leaving the mount later restores baseUrl but leaves req.route as it was.
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => route,
      set(value: { path?: unknown } | undefined) {
        route = value;
        r[ROUTE_LABEL] = value ? labelOf(r, value.path) : undefined;
      },
    });
    res.once('finish', () => {
      // Answered before any route matched (a mount's guard, a 404): the deepest labelled mount the path went into.
      const route = r[ROUTE_LABEL] ?? (r[DEEPEST_MOUNT] ? `${r[DEEPEST_MOUNT]}/*` : UNMATCHED_ROUTE);
      end({ route, status_class: `${Math.floor(res.statusCode / 100)}xx` });
    });
    next();
  };
}

function labelOf(req: Labelled, path: unknown): string {
  const pattern = Array.isArray(path) ? path.join('|') : String(path);
  if (!req.baseUrl) return pattern;
  const mount = req[MOUNTS]?.get(req.baseUrl);
  // A mount nobody labelled: its matched path may carry anything a client sent, so only the route's pattern is kept.
  return mount === undefined ? `*${pattern}` : mount + pattern;
}
