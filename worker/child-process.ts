// The servers certflow runs as child processes (Temporal, PostgreSQL, MailDev, nginx, certflow itself): started so
// that they die with their parent, stopped in order, and restarted when one dies on its own.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../infra/logger';

export function isRunning(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Sends `signal`, then SIGKILL once `graceMs` have passed; resolves when the child has exited (at once if it had). */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(killer);
}

// util-linux's setpriv sets PR_SET_PDEATHSIG and then execs the command, so the child keeps the parent's PID for it.
const SETPRIV = '/usr/bin/setpriv';
const canTieToParent = process.platform === 'linux' && fs.existsSync(SETPRIV);

/**
 * spawn(), but the child gets SIGTERM from the kernel when this process dies — even by `kill -9`, when no stop of ours
 * runs — so no server is left holding its port for the next start. Elsewhere than Linux it is a plain spawn.
 */
export function spawnTiedToParent(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  if (!canTieToParent) return spawn(command, args, options);
  return spawn(SETPRIV, ['--pdeathsig', 'TERM', '--', command, ...args], options);
}

/** A child server as its starter returns it: the process, and how to stop it. */
export interface StartedChild {
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface SupervisedChild {
  /** Stops the child for good: no restart follows. */
  stop(): Promise<void>;
}

export interface SupervisionPolicy {
  /** First wait before a restart; it doubles after each failed restart. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** A child that ran this long before dying restarts after the initial wait again. */
  stableAfterMs: number;
}

const DEFAULT_POLICY: SupervisionPolicy = { initialBackoffMs: 1_000, maxBackoffMs: 30_000, stableAfterMs: 60_000 };

/**
 * Keeps a child server running: when it exits without having been stopped, it is started again after a backoff
 * (logged each time), until stop() is called. `first` is the child already started by the caller.
 */
export function superviseChild(
  name: string,
  first: StartedChild,
  start: () => Promise<StartedChild>,
  logger: Logger,
  policy: SupervisionPolicy = DEFAULT_POLICY,
): SupervisedChild {
  let current: StartedChild | undefined = first;
  let stopped = false;
  let backoffMs = policy.initialBackoffMs;
  let timer: NodeJS.Timeout | undefined;

  const watch = (child: StartedChild) => {
    const startedAt = Date.now();
    child.process.once('exit', (code, signal) => {
      if (stopped || current !== child) return;
      current = undefined;
      if (Date.now() - startedAt >= policy.stableAfterMs) backoffMs = policy.initialBackoffMs;
      logger.warn({ child: name, code, signal, restartInMs: backoffMs }, `${name} exited unexpectedly; restarting it`);
      schedule();
    });
  };

  const schedule = () => {
    const wait = backoffMs;
    backoffMs = Math.min(backoffMs * 2, policy.maxBackoffMs);
    timer = setTimeout(async () => {
      timer = undefined;
      if (stopped) return;
      try {
        const child = await start();
        if (stopped) return void (await child.stop());
        current = child;
        watch(child);
        logger.info({ child: name, pid: child.process.pid }, `${name} restarted`);
      } catch (err) {
        logger.error({ child: name, err, restartInMs: backoffMs }, `${name} could not be restarted; trying again`);
        schedule();
      }
    }, wait);
  };

  watch(first);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current?.stop();
    },
  };
}

/**
 * The node arguments of an npm script of package.json (what follows its set-up: `… && node <args>`), with sh's
 * `${VAR:-default}` expanded from `env`: a process started by the cluster or a test runs as `npm run <script>` would
 * run it (the V8 heap limit, the tsx hook), from one definition.
 */
export function npmScriptNodeArgs(script: 'start' | 'serve', env: NodeJS.ProcessEnv = process.env): string[] {
  const packageJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const command = packageJson.scripts[script]?.split('&&').pop()?.trim() ?? '';
  const words = command.replace(/\$\{(\w+):-([^}]*)\}/g, (_, name: string, fallback: string) => env[name] || fallback).split(/\s+/);
  if (words[0] !== 'node') throw new Error(`npm script ${script} does not end in a node command: ${command}`);
  return words.slice(1);
}
