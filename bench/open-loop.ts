// An open-loop load generator: requests leave at a constant rate whatever the server does, and each latency is
// counted from when its request was due, so a stalled server shows in the tail instead of slowing the offer
// (autocannon's rate limit sends each second's quota in a burst, which measures the burst, not the server).
import http from 'node:http';
import https from 'node:https';

export interface OpenLoopOptions {
  url: string;
  ratePerSecond: number;
  seconds: number;
  connections: number;
  /** Requests sent (and not measured) first, so connections and TLS handshakes are in place. */
  warmupRequests?: number;
  tls?: https.AgentOptions;
  headers?: Record<string, string>;
  /** GET unless told; a body is sent with each request (an OCSP POST). */
  method?: string;
  body?: Buffer;
  /** Every measured latency (ms) is also pushed here, for a p99 over several runs. */
  latencies?: number[];
}

export interface OpenLoopResult {
  sent: number;
  ok: number;
  errors: number;
  p50: number;
  p99: number;
  ratePerSecond: number;
}

export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const url = new URL(o.url);
  const secure = url.protocol === 'https:';
  // FIFO keeps every connection busy; LIFO would leave some idle past the server's keep-alive timeout, and their
  // reconnections (a TLS handshake each) would be measured as the server's latency.
  const agent = secure
    ? new https.Agent({ keepAlive: true, maxSockets: o.connections, scheduling: 'fifo', ...o.tls })
    : new http.Agent({ keepAlive: true, maxSockets: o.connections, scheduling: 'fifo' });
  const send = (): Promise<boolean> =>
    new Promise((resolve) => {
      const req = (secure ? https : http).request(url, { agent, method: o.method ?? 'GET', headers: o.headers, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end(o.body);
    });

  for (let sent = 0; sent < (o.warmupRequests ?? o.connections); sent += o.connections) {
    await Promise.all(Array.from({ length: o.connections }, send));
  }

  const total = Math.round(o.ratePerSecond * o.seconds);
  const intervalNs = 1e9 / o.ratePerSecond;
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const start = process.hrtime.bigint();
  const pending: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = Number(process.hrtime.bigint() - start);
      const due = Math.min(total, Math.floor(elapsed / intervalNs) + 1);
      for (; issued < due; issued++) {
        const dueAt = start + BigInt(Math.round(issued * intervalNs));
        pending.push(
          send().then((ok) => {
            if (ok) latencies.push(Number(process.hrtime.bigint() - dueAt) / 1e6);
            if (ok) o.latencies?.push(latencies[latencies.length - 1]!);
            else errors += 1;
          }),
        );
      }
      if (issued < total) setImmediate(tick);
      else resolve();
    };
    tick();
  });
  await Promise.all(pending);
  const elapsedSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const quantile = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! : NaN);
  return {
    sent: total,
    ok: latencies.length,
    errors,
    p50: Math.round(quantile(0.5) * 10) / 10,
    p99: Math.round(quantile(0.99) * 10) / 10,
    ratePerSecond: Math.round(total / elapsedSeconds),
  };
}
