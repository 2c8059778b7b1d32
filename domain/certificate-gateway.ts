// The one client-side door to certificate workflows: start, update-or-refuse, live status, successor reservation.
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError, type UpdateDefinition } from '@temporalio/common';
import type { IssuanceRequest, RequestStore } from '../stores';
import {
  ACTION_NAMES,
  CERTIFICATE_WORKFLOW_TYPE,
  certificateSearchAttributes,
  certificateWorkflowId,
  downloadConfirmedSignal,
  initialState,
  reissueUpdate,
  requestRenewalUpdate,
  retrieveKeyUpdate,
  revokeUpdate,
  rulesOf,
  statusQuery,
  STATE_REFUSAL_CODES,
  type CertificateAction,
  type CertificateStatus,
  type CertificateWorkflow,
  type CertificateWorkflowInput,
  type RequestKind,
  type RequestStatus,
  type StateRefusalCode,
} from '../workflows/definitions';
import { tokyoDay } from '../workflows/time-rules';
import { Refusal } from './refusal';

const UPDATES = {
  retrieveKey: retrieveKeyUpdate,
  renew: requestRenewalUpdate,
  reissue: reissueUpdate,
  revoke: revokeUpdate,
} as const;

type Updates = typeof UPDATES;
type UpdateArgs<A extends CertificateAction> = Updates[A] extends UpdateDefinition<unknown, infer Args> ? Args : never;
type UpdateResult<A extends CertificateAction> = Updates[A] extends UpdateDefinition<infer Ret, infer _Args> ? Ret : never;

const isStateRefusalCode = (type: string | undefined): type is StateRefusalCode => (STATE_REFUSAL_CODES as readonly (string | undefined)[]).includes(type);

/** Which request's workflow: its ID and the row it was reserved with. */
export type RequestRef = Pick<IssuanceRequest, 'requestId' | 'workflowId'>;

export interface SuccessorReservation {
  kind: Extract<RequestKind, 'renewal' | 'reissue'>;
  userId: string;
  profile: IssuanceRequest['profile'];
  enrollmentPasswordHash?: string;
  now: Date;
}

export interface CertificateGateway {
  /** Starts a request's workflow with its initial search attributes; a Temporal refusal is `unavailable`. */
  start(input: CertificateWorkflowInput, taskQueue?: string): Promise<{ requestId: string; workflowId: string }>;
  /** Runs the action's update; the workflow's refusal, or a closed workflow's last state, becomes a Refusal. */
  update<A extends CertificateAction>(request: RequestRef, action: A, ...args: UpdateArgs<A>): Promise<UpdateResult<A>>;
  /** The workflow's own status while it runs; undefined once it has closed. */
  liveStatus(workflowId: string): Promise<CertificateStatus | undefined>;
  /** The live state, or the database row's when the workflow cannot answer. */
  currentState(request: RequestRef): Promise<RequestStatus | undefined>;
  /** Tells the workflow its key was downloaded; `unavailable` while Temporal cannot be reached. */
  confirmDownload(workflowId: string): Promise<void>;
  /** Reserves the successor's ID and row, runs the predecessor's update with it, and removes the row if that fails. */
  withSuccessor<A extends 'renew' | 'reissue'>(
    current: RequestRef,
    action: A,
    successor: SuccessorReservation,
    request: (successorRequestId: string) => UpdateArgs<A>[0],
  ): Promise<{ requestId: string; workflowId: string }>;
}

export interface CertificateGatewayDeps {
  client: Client;
  taskQueue: string;
  requests: RequestStore;
  /** Whether Temporal answers now (a shared, short-lived probe); without it every call goes to Temporal. */
  temporalReachable?: () => Promise<boolean>;
}

const UNREACHABLE_REASON = 'the workflow service cannot be reached just now; nothing was changed; try again in a few seconds';

/** gRPC UNAVAILABLE or DEADLINE_EXCEEDED, on the error or its cause: Temporal did not answer. */
function isUnreachable(err: unknown): boolean {
  const codes = [(err as { code?: unknown })?.code, (err as { cause?: { code?: unknown } })?.cause?.code];
  return codes.some((code) => code === 14 || code === 4);
}

export function createCertificateGateway({ client, taskQueue, requests, temporalReachable = async () => true }: CertificateGatewayDeps): CertificateGateway {
  /** Refuses at once while Temporal is down, instead of each call waiting out the client's retries. */
  async function assertReachable(): Promise<void> {
    if (!(await temporalReachable())) throw new Refusal('unavailable', UNREACHABLE_REASON);
  }

  async function projectedState(requestId: string): Promise<RequestStatus | undefined> {
    return (await requests.find(requestId))?.status;
  }

  /** The one mapping of Temporal's answers to a refusal. */
  async function refusalOf(err: unknown, request: RequestRef, action: CertificateAction): Promise<unknown> {
    if (isUnreachable(err)) return Object.assign(new Refusal('unavailable', UNREACHABLE_REASON), { cause: err });
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause as (Error & { type?: string }) | undefined;
      // The workflow names its refusal; should it not, the state it is in says which one it was.
      const state = isStateRefusalCode(cause?.type) ? undefined : await gateway.currentState(request);
      const code = isStateRefusalCode(cause?.type) ? cause.type : ((state && rulesOf(state).refuses[action]) ?? 'conflict');
      return new Refusal(code, cause?.message ?? err.message);
    }
    if (err instanceof WorkflowNotFoundError || (err as { code?: number }).code === 5 /* gRPC NOT_FOUND: the run has closed */) {
      const state = await projectedState(request.requestId);
      const code = state ? rulesOf(state).refuses[action] : undefined;
      const reason = `${ACTION_NAMES[action]} is not possible: the request ${request.requestId} is ${state ?? 'unknown'}`;
      return code ? new Refusal(code, reason) : new Refusal('unavailable', reason);
    }
    return err;
  }

  const gateway: CertificateGateway = {
    async start(input, queue = taskQueue) {
      const workflowId = certificateWorkflowId(input.profile, input.requestId);
      await assertReachable();
      try {
        await client.workflow.start<CertificateWorkflow>(CERTIFICATE_WORKFLOW_TYPE, {
          taskQueue: queue,
          workflowId,
          args: [input],
          typedSearchAttributes: certificateSearchAttributes({
            ...input,
            state: initialState(input),
            notAfter: input.imported && Date.parse(input.imported.notAfter),
          }),
        });
      } catch (err) {
        throw Object.assign(new Refusal('unavailable', 'the certificate workflow could not be started; nothing was kept'), { cause: err });
      }
      return { requestId: input.requestId, workflowId };
    },

    async update(request, action, ...args) {
      const definition = UPDATES[action] as Updates[CertificateAction];
      await assertReachable();
      try {
        return (await client.workflow.getHandle(request.workflowId).executeUpdate(definition as never, { args } as never)) as never;
      } catch (err) {
        throw await refusalOf(err, request, action);
      }
    },

    async liveStatus(workflowId) {
      const handle = client.workflow.getHandle(workflowId);
      await assertReachable();
      try {
        const description = await handle.describe();
        if (description.status.name !== 'RUNNING') return undefined;
        return await handle.query(statusQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError || (err as Error).name === 'WorkflowNotFoundError') return undefined;
        if (isUnreachable(err)) throw Object.assign(new Refusal('unavailable', UNREACHABLE_REASON), { cause: err });
        throw err;
      }
    },

    async currentState(request) {
      if (!(await temporalReachable())) return projectedState(request.requestId);
      try {
        return (await client.workflow.getHandle(request.workflowId).query(statusQuery)).state;
      } catch {
        // A closed workflow that can no longer be queried: its last projection says where it ended.
        return projectedState(request.requestId);
      }
    },

    async confirmDownload(workflowId) {
      await assertReachable();
      try {
        await client.workflow.getHandle(workflowId).signal(downloadConfirmedSignal);
      } catch (err) {
        if (isUnreachable(err)) throw Object.assign(new Refusal('unavailable', UNREACHABLE_REASON), { cause: err });
        throw err;
      }
    },

    async withSuccessor(current, action, successor, request) {
      const requestId = await requests.nextRequestId(tokyoDay(successor.now.getTime()));
      const workflowId = certificateWorkflowId(successor.profile, requestId);
      await requests.insert(
        {
          requestId,
          userId: successor.userId,
          profile: successor.profile,
          kind: successor.kind,
          workflowId,
          enrollmentPasswordHash: successor.enrollmentPasswordHash,
          predecessorRequestId: current.requestId,
        },
        successor.now,
      );
      try {
        await gateway.update(current, action, ...([request(requestId)] as UpdateArgs<typeof action>));
      } catch (err) {
        await requests.remove(requestId);
        throw err;
      }
      return { requestId, workflowId };
    },
  };
  return gateway;
}
