// What operators and orchestrators ask every certflow process: liveness (/healthz), readiness (/readyz, each
// dependency checked within a bound) and Prometheus metrics (/metrics). Mounted on the HTTP app, or served alone
// by startOpsServer in a process that has no HTTP app.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { Router } from 'express';
import type { Registry } from 'prom-client';
import { withTimeout } from '../infra/timeout';
import { errorHandler, notFoundHandler } from './errors';
import type { Logger } from '../infra/logger';

/** Resolves when the dependency answers; `timeoutMs` is what the probe allows it (the router enforces it too). */
export type ReadinessCheck = (timeoutMs: number) => Promise<unknown>;

export type ReadinessChecks = Record<string, ReadinessCheck>;

export interface OpsDeps {
  /** Named checks for /readyz, e.g. temporal, database, smtp. */
  checks: ReadinessChecks;
  /** The process's metrics registry (infra/metrics createMetrics). */
  registry: Registry;
  /** Bound on each check (default 2000 ms). */
  timeoutMs?: number;
}

type CheckResult = { status: 'up' } | { status: 'down'; reason: string };

/** What a Temporal connection needs for its check: the client's Connection and the worker's NativeConnection both have it. */
export interface TemporalPing {
  withDeadline<R>(deadline: number | Date, fn: () => Promise<R>): Promise<R>;
  withAbortSignal<R>(signal: AbortSignal, fn: () => Promise<R>): Promise<R>;
  workflowService: { getSystemInfo(request: object): Promise<unknown> };
}

/** Temporal answers getSystemInfo before the deadline; the abort ends the client's own retries of the probe with it. */
export function temporalCheck(connection: TemporalPing): ReadinessCheck {
  return (timeoutMs) =>
    connection.withAbortSignal(AbortSignal.timeout(timeoutMs), () =>
      connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.getSystemInfo({})),
    );
}

export function createOpsRouter({ checks, registry, timeoutMs = 2000 }: OpsDeps): Router {
  const router = Router();
  // Liveness: answering at all is the proof; dependencies are readiness's business, or a restart would not help.
  router.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'up' });
  });

  router.get('/readyz', async (_req, res) => {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => run(() => checks[name]!(timeoutMs), timeoutMs)));
    const report = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    const down = names.filter((name) => report[name]!.status === 'down');
    res
      .status(down.length ? 503 : 200)
      .set('Cache-Control', 'no-store')
      .json({ status: down.length ? `down: ${down.join(', ')}` : 'up', checks: report });
  });

  router.get('/metrics', async (_req, res) => {
    const text = await registry.metrics();
    res.set('Cache-Control', 'no-store').type(registry.contentType).send(text);
  });
  return router;
}

async function run(probe: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  try {
    await withTimeout(probe(), timeoutMs);
    return { status: 'up' };
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    return { status: 'down', reason: message.split('\n')[0]!.slice(0, 200) };
  }
}

export interface OpsServerOptions extends OpsDeps {
  host: string;
  /** 0 picks a free port (see `url`). */
  port: number;
  logger: Logger;
}

export interface OpsServer {
  server: http.Server;
  /** e.g. http://127.0.0.1:9464 */
  url: string;
  close(): Promise<void>;
}

/** The ops router alone on its own port, for a process without an HTTP app (a worker-only process). */
export async function startOpsServer(o: OpsServerOptions): Promise<OpsServer> {
  const app = express();
  app.disable('x-powered-by');
  app.use(createOpsRouter(o));
  app.use(notFoundHandler);
  app.use(errorHandler(o.logger));
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`the ops port ${o.host}:${o.port} is already taken`) : err),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
