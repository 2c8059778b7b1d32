// Read-only views for support: users, requests (projection plus the workflow's live status) and certificate lists.
import type { Client } from '@temporalio/client';
import { createMailOutboxStore } from '../engines/mail';
import type { IssuanceRequest, RequestFilter } from '../stores/requests';
import type { User } from '../stores/users';
import { statusQuery, type CertificateStatus } from '../workflows/definitions';
import { HttpError } from '../api/errors';
import { resolveUser, stores, type UseCaseDeps } from './context';

/** A request as support sees it: the password hash never leaves the database. */
export type RequestView = Omit<IssuanceRequest, 'enrollmentPasswordHash'> & { enrollmentPasswordSet: boolean };

export function requestView({ enrollmentPasswordHash, ...request }: IssuanceRequest): RequestView {
  return { ...request, enrollmentPasswordSet: enrollmentPasswordHash !== undefined };
}

export type UserView = User & { requests: RequestView[] };

/** The workflow's own status while it runs; undefined once it has closed (the projection then has the last word). */
export async function liveStatus(client: Client, workflowId: string): Promise<CertificateStatus | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') return undefined;
    return await handle.query(statusQuery);
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
    throw err;
  }
}

export async function getUser(deps: UseCaseDeps, userId: string, profile?: string): Promise<UserView[]> {
  const { users, requests } = stores(deps.db);
  const held = profile === undefined ? await users.findAll(userId) : [await resolveUser(deps.db, userId, profile)];
  if (held.length === 0) throw HttpError.notFound(`no user ${userId}`);
  return Promise.all(
    held.map(async (user) => ({ ...user, requests: (await requests.list({ userId, profile: user.profile })).map(requestView) })),
  );
}

export async function getRequest(deps: UseCaseDeps, requestId: string): Promise<RequestView & { live?: CertificateStatus }> {
  const request = await stores(deps.db).requests.find(requestId);
  if (!request) throw HttpError.notFound(`no request ${requestId}`);
  const live = request.status === 'reserved' || isOpen(request) ? await liveStatus(deps.client, request.workflowId) : undefined;
  return { ...requestView(request), ...(live ? { live } : {}) };
}

/** States in which the workflow is still running (a renewed or active one waits for its notAfter). */
export function isOpen(request: Pick<IssuanceRequest, 'status'>): boolean {
  return ['reserved', 'awaitingKeyRetrieval', 'keyReady', 'active', 'renewed'].includes(request.status);
}

/** From the projection only: a list never asks thousands of workflows. */
export async function listCertificates(deps: UseCaseDeps, filter: RequestFilter): Promise<RequestView[]> {
  return (await stores(deps.db).requests.list(filter)).map(requestView);
}

export async function listFailedMails(deps: UseCaseDeps, limit?: number) {
  return createMailOutboxStore(deps.db).listFailedMails({ limit });
}
