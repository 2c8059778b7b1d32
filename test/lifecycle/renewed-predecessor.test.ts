// A renewed certificate stays valid to its end; revoking or reissuing the user's certificate must withdraw it too.
import crypto from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { createStores } from '../../stores';
import { createRequestStore } from '../../stores/requests';
import { createUserStore } from '../../stores/users';
import { createCertificateGateway, reissue, revoke } from '../../domain';
import { downloadConfirmedSignal, requestRenewalUpdate, retrieveKeyUpdate, statusQuery } from '../../workflows/definitions';
import { reserveRequest } from '../support/lifecycle-harness';
import { DATABASE_KINDS } from '../support/databases';
import { startLifecycleFixture, type LifecycleFixture } from '../support/lifecycle-worker';

const DAY = 86_400_000;
const agent = { agent: 'test-admin', role: 'admin' as const };

describe.each(DATABASE_KINDS)('a user holding a renewed certificate and its successor on %s', (database) => {
  const taskQueue = `lifecycle-renewed-predecessor-${database}`;
  let f: LifecycleFixture;
  let deps: Parameters<typeof reissue>[0];

  beforeAll(async () => {
    f = await startLifecycleFixture(taskQueue, { database });
    const stores = createStores(f.db, { auditKey: crypto.randomBytes(32) });
    deps = { stores, certificates: createCertificateGateway({ client: f.env.client, taskQueue, requests: stores.requests }), clock: () => new Date() };
  });
  afterAll(async () => { await f?.stop(); });

  async function activate(handle: WorkflowHandle) {
    const { serial } = await handle.executeUpdate(retrieveKeyUpdate);
    await handle.signal(downloadConfirmedSignal);
    for (let i = 0; i < 50 && (await handle.query(statusQuery)).state !== 'active'; i++) await f.env.sleep(100);
    return serial;
  }

  /** Registers a user, activates the first certificate, renews it at T-20 and activates the renewed one. */
  async function renewedUser() {
    const { handle, requestId } = await f.start();
    const userId = f.lastUserId();
    await createUserStore(f.db).setCurrentRequest(userId, 'kdanshinnet', requestId);
    const oldSerial = await activate(handle);
    const { notAfter } = await handle.query(statusQuery);
    await f.env.sleep(Date.parse(notAfter!) - 20 * DAY - (await f.env.currentTimeMs()));
    const successor = await reserveRequest(f.db, userId, 'renewal', { predecessorRequestId: requestId });
    await handle.executeUpdate(requestRenewalUpdate, { args: [{ successorRequestId: successor.requestId }] });
    const next = f.env.client.workflow.getHandle(successor.workflowId);
    const newSerial = await activate(next);
    expect((await handle.query(statusQuery)).state).toBe('renewed');
    return { userId, handle, next, oldSerial, newSerial, oldRequestId: requestId };
  }

  it('when an admin revokes the user, then the renewed certificate is revoked along with the current one', async () => {
    const { userId, handle, next, oldSerial, newSerial, oldRequestId } = await renewedUser();
    const result = await revoke(deps, agent, { userId, reason: 'keyCompromise' });
    expect(result.status.state).toBe('revoked');
    expect(result.alsoRevokedRequestIds).toEqual([oldRequestId]);
    expect((await next.query(statusQuery)).state).toBe('revoked');
    expect(await handle.query(statusQuery)).toMatchObject({ state: 'revoked', revocationReason: 'keyCompromise' });
    const revokedSerials = f.ca.revoked.map((r) => r.serial);
    expect(revokedSerials).toEqual(expect.arrayContaining([oldSerial, newSerial]));
  });

  it('when support reissues, then the renewed certificate is superseded too and only the reissued request remains', async () => {
    const { userId, handle, next, oldSerial, newSerial } = await renewedUser();
    const reissued = await reissue(deps, { agent: 'test-support', role: 'support' }, { userId });
    expect((await next.query(statusQuery)).state).toBe('revoked');
    expect(await handle.query(statusQuery)).toMatchObject({ state: 'revoked', revocationReason: 'superseded' });
    expect(f.ca.revoked.filter((r) => [oldSerial, newSerial].includes(r.serial)).map((r) => r.reason)).toEqual(['superseded', 'superseded']);
    expect((await createRequestStore(f.db).find(reissued.requestId))?.kind).toBe('reissue');
  });
});
