// Records every state-changing call with its outcome, whether the use case succeeded, was refused or broke.
import { HttpError } from '../api/errors';
import { stores, type Actor, type UseCaseDeps } from './context';

export interface AuditedAction<T> {
  action: string;
  target: string;
  run: () => Promise<T>;
  /** What of the result may be kept: IDs and reasons, never a password. */
  detail?: (result: T) => Record<string, unknown>;
}

export async function audited<T>(deps: Pick<UseCaseDeps, 'db' | 'clock'>, actor: Actor, a: AuditedAction<T>): Promise<T> {
  const { audit } = stores(deps.db);
  const at = () => (deps.clock ?? (() => new Date()))();
  const base = { agent: actor.agent, role: actor.role, action: a.action, target: a.target.slice(0, 128) };
  let result: T;
  try {
    result = await a.run();
  } catch (err) {
    const rejected = err instanceof HttpError && err.status < 500;
    const detail = err instanceof HttpError ? { status: err.status, reason: err.message, ...(err.field ? { field: err.field } : {}) } : { status: 500 };
    await audit.record({ ...base, outcome: rejected ? 'rejected' : 'failed', detail }, at());
    throw err;
  }
  await audit.record({ ...base, outcome: 'ok', detail: a.detail?.(result) }, at());
  return result;
}
