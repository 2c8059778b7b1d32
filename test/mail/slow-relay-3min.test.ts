// The probe's scenario 3 stretched: the relay holds its "250" after the first body (the ID notice) for 3 minutes,
// longer than an activity attempt's old timeout and the outbox's lease (~3.5 min real time).
import { eventually, startApiStack, type ApiStack } from '../api/stack';
import { recordDeliveries, registerUsers, settledCount } from './relay-scenarios';

describe('a relay slow to confirm a mail (3 minutes)', () => {
  let stack: ApiStack;
  beforeAll(async () => {
    stack = await startApiStack('slow-relay-3min', { database: 'sqlite' });
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  it('when the relay answers the ID notice 3 minutes late, then every mail of the registration arrives once and its row says sent after one attempt', async () => {
    stack.mailbox.ackDelayMs = 180_000;
    const began = Date.now();
    const workflowIds = await registerUsers(stack, ['slow180']);
    // The relay is slow for the first mail only: once its body is in, the next answers come at once.
    await eventually(async () => stack.mailbox.received.length > 0, 'the first body to reach the relay', 60_000);
    stack.mailbox.ackDelayMs = 0;
    const count = await settledCount(stack, workflowIds, 3, 360_000);
    recordDeliveries('relay answers 3 min late', count, Math.round((Date.now() - began) / 1000));

    expect({ lost: count.lost, duplicates: count.duplicates, strangers: count.strangers, arrivals: count.arrivals }).toEqual({
      lost: [],
      duplicates: [],
      strangers: 0,
      arrivals: 3,
    });
    expect(Date.now() - began).toBeGreaterThanOrEqual(180_000);
    for (const row of count.rows) expect(row).toMatchObject({ status: 'sent', attempts: 1 });
  }, 600_000);
});
