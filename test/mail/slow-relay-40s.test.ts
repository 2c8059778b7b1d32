// The probe's scenario 3, end to end: a relay that holds its "250" after every message body for 40 s (~2.5 min real time).
import { startApiStack, type ApiStack } from '../api/stack';
import { recordDeliveries, registerUsers, settledCount } from './relay-scenarios';

describe('a relay slow to confirm each mail (40 s)', () => {
  let stack: ApiStack;
  beforeAll(async () => {
    stack = await startApiStack('slow-relay-40s', { database: 'sqlite' });
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  it('when the relay answers every body 40 s late, then each mail of two registrations (ID notice, password, guide) arrives once and its row says sent after one attempt', async () => {
    stack.mailbox.ackDelayMs = 40_000;
    const began = Date.now();
    const workflowIds = await registerUsers(stack, ['slow040a', 'slow040b']);
    const count = await settledCount(stack, workflowIds, 6, 300_000);
    recordDeliveries('relay answers 40 s late', count, Math.round((Date.now() - began) / 1000));

    expect({ lost: count.lost, duplicates: count.duplicates, strangers: count.strangers, arrivals: count.arrivals }).toEqual({
      lost: [],
      duplicates: [],
      strangers: 0,
      arrivals: 6,
    });
    for (const row of count.rows) expect(row).toMatchObject({ status: 'sent', attempts: 1 });
  }, 420_000);
});
