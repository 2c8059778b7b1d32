// The probe's relay scenarios end to end: certflow as it runs (dev server, worker, outbox, Temporal's retries) registers
// users while the SMTP relay misbehaves, and every mail is counted at the relay by Message-ID and by arrival.
import fs from 'node:fs';
import path from 'node:path';
import { eventually, registration, type ApiStack } from '../api/stack';

export interface DeliveryCount {
  /** Mails certflow means to send (outbox rows of the users' workflows). */
  mails: number;
  /** Messages the relay received, counted by arrival. */
  arrivals: number;
  /** Rows whose Message-ID never arrived. */
  lost: string[];
  /** Message-IDs that arrived more than once. */
  duplicates: Array<{ key: string; arrivals: number }>;
  /** Arrivals with a Message-ID of no row: must be none. */
  strangers: number;
  rows: Array<{ key: string; status: string; attempts: number; lastError: string | null }>;
}

/** Registers each user through the support API; returns the workflow IDs. */
export async function registerUsers(stack: ApiStack, userIds: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const userId of userIds) {
    const res = await stack.call('POST', '/api/v1/users', { body: registration(userId) });
    if (res.status !== 201) throw new Error(`registration of ${userId} answered ${res.status}: ${JSON.stringify(res.body)}`);
    ids.push(res.body.workflowId as string);
  }
  return ids;
}

export async function countDeliveries(stack: ApiStack, workflowIds: string[]): Promise<DeliveryCount> {
  const rows = (await Promise.all(workflowIds.map((id) => stack.runtime.mailOutbox.listByKeyPrefix(`${id}:`)))).flat();
  const byMessageId = new Map<string, number>();
  for (const m of stack.mailbox.received) byMessageId.set(m.parsed.messageId ?? '', (byMessageId.get(m.parsed.messageId ?? '') ?? 0) + 1);
  const known = new Set(rows.map((r) => r.messageId));
  return {
    mails: rows.length,
    arrivals: stack.mailbox.received.length,
    lost: rows.filter((r) => !byMessageId.has(r.messageId)).map((r) => r.key),
    duplicates: rows.filter((r) => (byMessageId.get(r.messageId) ?? 0) > 1).map((r) => ({ key: r.key, arrivals: byMessageId.get(r.messageId)! })),
    strangers: [...byMessageId.entries()].filter(([id]) => !known.has(id)).reduce((n, [, c]) => n + c, 0),
    rows: rows.map((r) => ({ key: r.key, status: r.status, attempts: r.attempts, lastError: r.lastError })),
  };
}

/**
 * Waits until `expected` mails exist, every row is settled and each has arrived, or until `timeoutMs`; then waits
 * `quietMs` more so a late repeat would still be counted. Returns the count either way: the test asserts on it.
 */
export async function settledCount(stack: ApiStack, workflowIds: string[], expected: number, timeoutMs: number, quietMs = 10_000): Promise<DeliveryCount> {
  await eventually(
    async () => {
      const c = await countDeliveries(stack, workflowIds);
      return c.mails === expected && c.rows.every((r) => r.status === 'sent') && c.lost.length === 0;
    },
    `${expected} mails sent and received`,
    timeoutMs,
  ).catch(() => undefined);
  await new Promise((r) => setTimeout(r, quietMs));
  return countDeliveries(stack, workflowIds);
}

/** One line per scenario in test/artifacts/mail-relay.jsonl (and on the console): what was lost, what was repeated. */
export function recordDeliveries(scenario: string, count: DeliveryCount, seconds: number): void {
  const root = path.resolve(__dirname, '../..');
  fs.mkdirSync(path.join(root, 'test/artifacts'), { recursive: true });
  const line = JSON.stringify({
    scenario,
    mails: count.mails,
    arrivals: count.arrivals,
    lost: count.lost.length,
    duplicates: count.duplicates.reduce((n, d) => n + d.arrivals - 1, 0),
    attempts: count.rows.reduce((n, r) => n + r.attempts, 0),
    seconds,
    at: new Date().toISOString(),
  });
  fs.appendFileSync(path.join(root, 'test/artifacts/mail-relay.jsonl'), `${line}\n`);
  console.log(line);
}
