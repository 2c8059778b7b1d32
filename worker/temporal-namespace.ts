// What certflow needs of a Temporal namespace: that it exists, and that it knows certflow's search attributes.
// The dev server is told both on its command line; a real Temporal Server (or the test server) is told here.
import { isGrpcServiceError, type Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/definitions';

const { IndexedValueType } = temporal.api.enums.v1;
const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;

/** certflow's search attributes as the operator service takes them. */
export function searchAttributeIndexTypes(): Record<string, temporal.api.enums.v1.IndexedValueType> {
  return Object.fromEntries(
    Object.entries(SEARCH_ATTRIBUTE_TYPES).map(([name, type]) => [
      name,
      type === 'Keyword' ? IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD : IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    ]),
  );
}

/** Registers the namespace unless it exists; true when it was created. */
export async function ensureNamespace(connection: Connection, namespace: string, retentionDays = 30): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return false;
  } catch (err) {
    if (!isGrpcServiceError(err) || err.code !== GRPC_NOT_FOUND) throw err;
  }
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`) });
    return true;
  } catch (err) {
    // Another process registered it in between.
    if (isGrpcServiceError(err) && err.code === GRPC_ALREADY_EXISTS) return false;
    throw err;
  }
}

/** Adds those of certflow's search attributes the namespace lacks; the names added. */
export async function ensureSearchAttributes(connection: Connection, namespace: string, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const existing = await connection.operatorService.listSearchAttributes({ namespace });
      const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
      const missing = Object.fromEntries(Object.entries(searchAttributeIndexTypes()).filter(([name]) => !known.has(name)));
      if (Object.keys(missing).length) await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
      return Object.keys(missing);
    } catch (err) {
      // A namespace just registered reaches the frontend's namespace cache a few seconds later.
      if (!isGrpcServiceError(err) || err.code !== GRPC_NOT_FOUND || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Waits until the frontend serves `namespace` and answers a list query on certflow's search attributes: a namespace
 * just registered, or attributes just added, reach the frontend's caches a few seconds later.
 */
export async function waitForNamespaceReady(connection: Connection, namespace: string, timeoutMs = 60_000): Promise<void> {
  const query = Object.keys(SEARCH_ATTRIBUTE_TYPES).map((name) => `${name} IS NULL`).join(' AND ');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await connection.workflowService.listWorkflowExecutions({ namespace, query, pageSize: 1 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`namespace ${namespace} is not usable after ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
