// The probe's SMTP outage, end to end: the relay is down while users register, then comes back (~1.5 min real time).
import { startApiStack, type ApiStack } from '../api/stack';
import { recordDeliveries, registerUsers, settledCount } from './relay-scenarios';

describe('an SMTP outage', () => {
  let stack: ApiStack;
  beforeAll(async () => {
    stack = await startApiStack('smtp-outage', { database: 'sqlite' });
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  it('when the relay is down while four users register and comes back 30 s later, then every mail is delivered once and none is lost', async () => {
    await stack.mailbox.down();
    const began = Date.now();
    const workflowIds = await registerUsers(stack, ['down01', 'down02', 'down03', 'down04']);
    await new Promise((r) => setTimeout(r, 30_000));
    expect(stack.mailbox.received).toHaveLength(0);
    await stack.mailbox.up();
    const count = await settledCount(stack, workflowIds, 12, 240_000);
    recordDeliveries('relay down 30 s, then up', count, Math.round((Date.now() - began) / 1000));

    expect({ lost: count.lost, duplicates: count.duplicates, strangers: count.strangers, arrivals: count.arrivals }).toEqual({
      lost: [],
      duplicates: [],
      strangers: 0,
      arrivals: 12,
    });
    for (const row of count.rows) expect(row.status).toBe('sent');
  }, 420_000);
});
