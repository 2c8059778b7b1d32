// Data access for certflow's operators: who may use the console, with which role, and whether they still may.
import type { Db } from '../infra/db';

export type OperatorRole = 'support' | 'admin';

export interface Operator {
  agentId: string;
  role: OperatorRole;
  email: string;
  enabled: boolean;
  createdAt: Date;
  createdBy: string;
  disabledAt?: Date;
  disabledBy?: string;
}

interface OperatorRow {
  agent_id: string;
  role: string;
  email: string;
  enabled: boolean | number;
  created_at: string | number | Date;
  created_by: string;
  disabled_at: string | number | Date | null;
  disabled_by: string | null;
}

// SQLite returns epoch milliseconds, PostgreSQL a Date.
const toDate = (v: string | number | Date) => (v instanceof Date ? v : new Date(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v));

const toOperator = (r: OperatorRow): Operator => ({
  agentId: r.agent_id,
  role: r.role as OperatorRole,
  email: r.email,
  enabled: Boolean(r.enabled),
  createdAt: toDate(r.created_at),
  createdBy: r.created_by,
  ...(r.disabled_at !== null ? { disabledAt: toDate(r.disabled_at) } : {}),
  ...(r.disabled_by !== null ? { disabledBy: r.disabled_by } : {}),
});

export interface OperatorStore {
  insert(operator: Pick<Operator, 'agentId' | 'role' | 'email' | 'createdAt' | 'createdBy'>): Promise<void>;
  find(agentId: string): Promise<Operator | undefined>;
  /** Oldest first. */
  list(): Promise<Operator[]>;
  /** False when there was no enabled operator of that ID. */
  disable(agentId: string, by: string, at: Date): Promise<boolean>;
  /** Undoes an addition whose enrollment could not be started. */
  remove(agentId: string): Promise<void>;
}

export function createOperatorStore(db: Db): OperatorStore {
  return {
    async insert(o) {
      await db('operators').insert({ agent_id: o.agentId, role: o.role, email: o.email, enabled: true, created_at: o.createdAt, created_by: o.createdBy });
    },
    async find(agentId) {
      const row = await db<OperatorRow>('operators').where({ agent_id: agentId }).first();
      return row && toOperator(row);
    },
    async list() {
      return ((await db<OperatorRow>('operators').orderBy([{ column: 'created_at' }, { column: 'agent_id' }])) as OperatorRow[]).map(toOperator);
    },
    async disable(agentId, by, at) {
      const changed = await db('operators').where({ agent_id: agentId, enabled: true }).update({ enabled: false, disabled_at: at, disabled_by: by });
      return changed === 1;
    },
    async remove(agentId) {
      await db('operators').where({ agent_id: agentId }).delete();
    },
  };
}
