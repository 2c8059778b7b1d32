// Read-only views for support: users, requests (projection plus the workflow's live status) and certificate lists.
import type { IssuanceRequest, RequestFilter, User } from '../stores';
import { rulesOf, type CertificateStatus } from '../workflows/definitions';
import type { DomainDeps } from './deps';
import { Refusal } from './refusal';
import { isUserProfile, resolveUser } from './request-chain';

/** A request as support sees it: the password hash never leaves the database. */
export type RequestView = Omit<IssuanceRequest, 'enrollmentPasswordHash'> & { enrollmentPasswordSet: boolean };

export function requestView({ enrollmentPasswordHash, ...request }: IssuanceRequest): RequestView {
  return { ...request, enrollmentPasswordSet: enrollmentPasswordHash !== undefined };
}

export type UserView = User & { requests: RequestView[] };

export async function getUser(deps: Pick<DomainDeps, 'stores'>, userId: string, profile?: string): Promise<UserView[]> {
  const { users, requests } = deps.stores;
  const held = profile === undefined ? (await users.findAll(userId)).filter((u) => isUserProfile(u.profile)) : [await resolveUser(deps.stores, userId, profile)];
  if (held.length === 0) throw Refusal.notFound(`no user ${userId}`);
  return Promise.all(
    held.map(async (user) => ({ ...user, requests: (await requests.list({ userId, profile: user.profile })).map(requestView) })),
  );
}

export async function getRequest(deps: Pick<DomainDeps, 'stores' | 'certificates'>, requestId: string): Promise<RequestView & { live?: CertificateStatus }> {
  const request = await deps.stores.requests.find(requestId);
  if (!request) throw Refusal.notFound(`no request ${requestId}`);
  // A running workflow (a renewed or active one waits for its notAfter) knows more than the projection.
  const live = rulesOf(request.status).open ? await deps.certificates.liveStatus(request.workflowId) : undefined;
  return { ...requestView(request), ...(live ? { live } : {}) };
}

/** From the projection only: a list never asks thousands of workflows. */
export async function listCertificates(deps: Pick<DomainDeps, 'stores'>, filter: RequestFilter): Promise<RequestView[]> {
  return (await deps.stores.requests.list(filter)).map(requestView);
}

export async function listFailedMails(deps: Pick<DomainDeps, 'mailOutbox'>, limit?: number) {
  return deps.mailOutbox.listFailedMails({ limit });
}
