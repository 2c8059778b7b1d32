// A test's HTTP side on a free loopback port, with the keep-alive production's listeners have.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepIdleConnections } from '../../worker/composition';

/** Listens with `app` on 127.0.0.1 (a free port, KEEP_ALIVE_MS as in production); resolves with the server and its URL. */
export async function listenOnLoopback(app: http.RequestListener): Promise<{ server: http.Server; baseUrl: string }> {
  const server = keepIdleConnections(http.createServer(app));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
