// Whether a listener keeps an idle keep-alive connection open: two GETs on one agent, the second after a pause.
import http from 'node:http';
import https from 'node:https';

/**
 * GETs `url`, waits `idleMs`, GETs it again with the same one-socket keep-alive agent. Resolves to both statuses and
 * whether the second went out on the first one's socket (false: the server closed it while idle).
 */
export async function reusedAfterIdle(url: string, idleMs: number): Promise<{ statuses: number[]; sameSocket: boolean }> {
  const secure = url.startsWith('https:');
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
      const req = (secure ? https : http).get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, socket: req.socket }));
      });
      req.on('error', reject);
    });
  try {
    const first = await get();
    await new Promise((r) => setTimeout(r, idleMs));
    const second = await get();
    return { statuses: [first.status, second.status], sameSocket: second.socket === first.socket };
  } finally {
    agent.destroy();
  }
}
