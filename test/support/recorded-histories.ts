// Recorded workflow histories for the replay suite (test/lifecycle/replay.test.ts). CERTFLOW_RECORD_HISTORIES=1
// writes them into test/lifecycle/histories/; any other name writes them into a folder of that name beside them, so
// the histories of code already running stay and the new ones are replayed too (e.g. after a patch()).
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

export const HISTORIES_DIR = path.join(__dirname, '..', 'lifecycle', 'histories');

/** Where this run records histories, or undefined when it records none. */
export function recordingDir(): string | undefined {
  const asked = process.env.CERTFLOW_RECORD_HISTORIES;
  if (!asked) return undefined;
  if (asked !== '1' && !/^[a-z0-9-]+$/.test(asked)) throw new Error(`CERTFLOW_RECORD_HISTORIES must be 1 or a folder name: ${asked}`);
  const dir = asked === '1' ? HISTORIES_DIR : path.join(HISTORIES_DIR, asked);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A test's name as a file name: what the test says, without its describe's prefix, in at most 60 characters. */
export function historySlug(testName: string, prefix: RegExp): string {
  return testName.replace(prefix, '').replace(/[^a-z0-9]+/gi, '-').slice(0, 60).replace(/-$/, '');
}

/** Writes one workflow's history as `<name>--<workflowId>.json`, the shape the replay test reads. */
export async function writeHistory(client: Client, dir: string, name: string, workflowId: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const object = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), { longs: String, enums: String, bytes: String });
  fs.writeFileSync(path.join(dir, `${name}--${workflowId}.json`), JSON.stringify(object, null, 1));
}

/** Every recorded history, in the folder and its sub-folders, as paths relative to it. */
export function recordedHistories(): string[] {
  if (!fs.existsSync(HISTORIES_DIR)) return [];
  return (fs.readdirSync(HISTORIES_DIR, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();
}
