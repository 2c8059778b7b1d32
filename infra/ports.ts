// A port that is free now, for servers that must be told their port before they listen.
//
// It is drawn from below the kernel's ephemeral range (ip_local_port_range): bind(0) and every outgoing connection of
// every process take their ports from that range, so a port probed free there can be taken by someone else's
// connection before our server binds it (CI lost a start to that: "CERTFLOW_TLS_PORT=36051 … already in use"). Below
// the range only an explicit bind takes a port. Each jest worker draws from its own slice, so test files running side by
// side never draw the same port; a port is handed out once per process and only when a bind to it succeeds.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';

const FLOOR = 10_000;
const SLICE = 1_000;
const handedOut = new Set<number>();

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const slices = portSlices();
  if (slices.length === 0) return kernelPort(host);
  const slice = slices[sliceIndex(slices.length)];
  for (let tries = 0; tries < SLICE; tries++) {
    const port = slice + crypto.randomInt(SLICE);
    if (handedOut.has(port)) continue;
    if ((await bindProblem(host, port)) === undefined) {
      handedOut.add(port);
      return port;
    }
  }
  return kernelPort(host);
}

/** The first port of each slice between FLOOR and the ephemeral range; none when the range cannot be read. */
export function portSlices(rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): number[] {
  let low: number;
  try {
    low = Number(fs.readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return [];
  }
  if (!Number.isInteger(low)) return [];
  const count = Math.max(0, Math.floor((low - FLOOR) / SLICE));
  return [...Array(count).keys()].map((i) => FLOOR + i * SLICE);
}

/** A jest worker's own slice (workers are numbered from 1); any other process takes one by its pid. */
export function sliceIndex(count: number, env: NodeJS.ProcessEnv = process.env, pid = process.pid): number {
  const worker = Number(env.JEST_WORKER_ID);
  return (Number.isInteger(worker) && worker > 0 ? worker - 1 : pid) % count;
}

/** undefined when the port can be bound, else the error code. */
export function bindProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    probe.listen(port, host, () => probe.close(() => resolve(undefined)));
  });
}

function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
