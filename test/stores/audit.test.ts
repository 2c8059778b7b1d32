// The audit store on every supported database: events read back in order, with their time, filters and detail.
import crypto from 'node:crypto';
import { createAuditStore } from '../../stores/audit';
import { forEachDatabase } from '../support/databases';

forEachDatabase('the audit store', (database) => {
  test('when events are recorded, then list returns them oldest first with the caller\'s time and the detail as recorded', async () => {
    const audit = createAuditStore(database.db, crypto.randomBytes(32));
    const first = new Date('2026-11-25T01:00:00.123Z');
    const second = new Date('2026-11-25T01:00:05.000Z');
    await audit.record({ agent: 'admin01', role: 'admin', action: 'reissue', target: 'request:202611250000001', outcome: 'ok', detail: { successorRequestId: '202611250000002' } }, first);
    await audit.record({ agent: 'admin02', role: 'support', action: 'revoke', target: 'request:202611250000001', outcome: 'rejected' }, second);
    await audit.record({ agent: 'admin01', role: 'admin', action: 'revoke', target: 'user:emp002/nissay', outcome: 'failed', detail: { reason: '既に失効' } }, second);

    const events = await audit.list();
    expect(events).toEqual([
      { id: expect.any(Number), at: first, agent: 'admin01', role: 'admin', action: 'reissue', target: 'request:202611250000001', outcome: 'ok', detail: { successorRequestId: '202611250000002' } },
      { id: expect.any(Number), at: second, agent: 'admin02', role: 'support', action: 'revoke', target: 'request:202611250000001', outcome: 'rejected', detail: undefined },
      { id: expect.any(Number), at: second, agent: 'admin01', role: 'admin', action: 'revoke', target: 'user:emp002/nissay', outcome: 'failed', detail: { reason: '既に失効' } },
    ]);
    expect(events[0].id).toBeLessThan(events[1].id);
    expect((await audit.list({ target: 'request:202611250000001' })).map((e) => e.action)).toEqual(['reissue', 'revoke']);
    expect((await audit.list({ action: 'revoke' })).map((e) => e.target)).toEqual(['request:202611250000001', 'user:emp002/nissay']);
    expect((await audit.list({ limit: 1 })).map((e) => e.action)).toEqual(['reissue']);
  });
});
