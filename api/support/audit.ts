// Records every state-changing call of the support API with its outcome, whether it succeeded, was refused or broke.
import type { AuditStore } from '../../stores';
import type { Actor } from '../../domain';
import { toHttpError } from '../errors';

export interface AuditedAction<T> {
  action: string;
  target: string;
  run: () => Promise<T>;
  /** What of the result may be kept: IDs and reasons, never a password. */
  detail?: (result: T) => Record<string, unknown>;
}

export async function audited<T>(audit: AuditStore, actor: Actor, a: AuditedAction<T>): Promise<T> {
  const base = { agent: actor.agent, role: actor.role, action: a.action, target: a.target.slice(0, 128) };
  let result: T;
  try {
    result = await a.run();
  } catch (err) {
    // Recorded as the caller was answered: the status and reason of the reply.
    const answer = toHttpError(err);
    const detail = { status: answer.status, reason: answer.message, ...(answer.field ? { field: answer.field } : {}) };
    await audit.record({ ...base, outcome: answer.status < 500 ? 'rejected' : 'failed', detail }, new Date());
    throw err;
  }
  await audit.record({ ...base, outcome: 'ok', detail: a.detail?.(result) }, new Date());
  return result;
}
