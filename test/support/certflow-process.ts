// `npm start` as a child of the test: spawn it, wait for its output, find its servers by command line, press Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { npmScriptNodeArgs } from '../../worker/child-process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

export interface StartedCertflow {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function startCertflow(env: Record<string, string>): StartedCertflow {
  // A process group of its own, so the test can press "Ctrl-C" on the whole tree as a terminal would. Node runs as
  // `npm start` runs it (its heap limit, tsx as a hook): the tsx CLI's signal relay SIGKILLs a child slower than 30 ms.
  const child = spawn(process.execPath, npmScriptNodeArgs('start', { ...process.env, ...env }), {
    cwd: root,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

export async function waitForOutput(started: StartedCertflow, text: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!started.output().includes(text)) {
    if (started.child.exitCode !== null || started.child.signalCode !== null) throw new Error(`certflow exited early:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`no "${text}" within ${timeoutMs} ms:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** PIDs of the processes whose command line holds every one of `args`, in order of appearance. */
export function pidsRunning(args: string[]): number[] {
  return fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).flatMap((entry) => {
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      return args.every((arg) => argv.includes(arg)) ? [Number(entry)] : [];
    } catch {
      return [];
    }
  });
}

export async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function pressCtrlC(started: StartedCertflow): Promise<number | null> {
  process.kill(-started.child.pid!, 'SIGINT');
  const code = await started.exited;
  for (let i = 0; i < 50 && groupAlive(started.child.pid!); i++) await new Promise((r) => setTimeout(r, 200));
  return code;
}
