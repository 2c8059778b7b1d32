// Records every state-changing call of the support API with its outcome, whether it succeeded, was refused or broke.
import type { Request, RequestHandler } from 'express';
import type { AuditStore } from '../../stores';
import type { Actor } from '../../domain';
import { toHttpError } from '../errors';
import { actorOf, requireRole } from './auth';

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

export interface CommandReply<T> {
  /** 201 for what was created; a function when the result decides (an import seen before is 200). */
  status: number | ((result: T) => number);
  body: (result: T) => unknown;
  detail: (result: T) => Record<string, unknown>;
}

/** State-changing routes over one audit store: role check, use case and audit row, including refusals. */
export function auditedCommand(audit: AuditStore) {
  return function command<T>(
    role: Actor['role'],
    action: string,
    target: (req: Request) => string,
    run: (req: Request, actor: Actor) => Promise<T>,
    reply: CommandReply<T>,
  ): RequestHandler {
    return async (req, res) => {
      const actor = actorOf(res);
      const result = await audited(audit, actor, {
        action,
        target: target(req),
        run: async () => {
          requireRole(actor, role);
          return run(req, actor);
        },
        detail: reply.detail,
      });
      res.status(typeof reply.status === 'number' ? reply.status : reply.status(result)).json(reply.body(result));
    };
  };
}
