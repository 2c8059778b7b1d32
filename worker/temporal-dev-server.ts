// Runs `temporal server start-dev` as a child process with certflow's persistence and search attributes.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { bindProblem } from '../infra/ports';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/definitions';
import { spawnTiedToParent, stopChild } from './child-process';

export interface DevServerOptions {
  binary: string;
  host: string;
  port: number;
  uiPort: number;
  dbFile: string;
  namespace: string;
  logFile: string;
}

export interface RunningDevServer {
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(o: DevServerOptions): Promise<RunningDevServer> {
  if (!fs.existsSync(o.binary)) throw new Error(`Temporal CLI not found at ${o.binary}: run scripts/install-temporal.sh`);
  fs.mkdirSync(path.dirname(o.dbFile), { recursive: true });
  const log = fs.openSync(o.logFile, 'a');
  const args = [
    'server', 'start-dev',
    '--db-filename', o.dbFile,
    '--ip', o.host,
    '--port', String(o.port),
    '--ui-port', String(o.uiPort),
    '--namespace', o.namespace,
    '--ui-disable-news-fetch',
    '--log-level', 'warn',
    ...Object.entries(SEARCH_ATTRIBUTE_TYPES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
  ];
  const child = spawnTiedToParent(o.binary, args, { stdio: ['ignore', log, log] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  fs.closeSync(log);
  const ready = await Promise.race([waitForPort(o.host, o.port, 30_000).then(() => true), exited.then(() => false)]);
  if (!ready) throw new Error(`the Temporal dev server exited during start-up; see ${o.logFile}`);
  return {
    process: child,
    stop: () => stopChild(child),
  };
}

export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port }, () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Resolves when the port can be bound, rejects naming the setting (as `setting=value`) when it is taken. With `waitMs`
 * it first waits that long for the port to come free: the servers of a start that was killed are still stopping.
 */
export async function assertPortFree(host: string, port: number, setting: string, options: { value?: string; waitMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    const problem = await bindProblem(host, port);
    if (problem === undefined) return;
    if (problem !== 'EADDRINUSE' || Date.now() >= deadline) {
      throw new Error(`${setting}=${options.value ?? port}: ${host}:${port} is ${problem === 'EADDRINUSE' ? 'already in use' : `unusable (${problem})`}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
