// The download's confirmation: the file has already left, so a Temporal outage is waited out, not lost with a 503.
import { createKeyRetrieval, Refusal, type CertificateGateway, type DomainDeps, type PendingDownload } from '../../domain';

describe('confirming a download', () => {
  const now = new Date('2026-11-26T03:00:00Z');
  const pending = { workflowId: 'certificate-kdanshinnet-202611260000001', downloadDeadline: '2026-11-26T14:59:59.999Z' } as PendingDownload;

  /** A key retrieval whose gateway answers each confirmation with the next of `outcomes` (an error thrown, or done). */
  function keysWith(outcomes: Array<Error | undefined>, clock = async () => now) {
    const calls: string[] = [];
    const certificates = {
      confirmDownload: async (workflowId: string) => {
        calls.push(workflowId);
        const outcome = outcomes.shift();
        if (outcome) throw outcome;
      },
    } as unknown as CertificateGateway;
    const deps = { certificates, clock, stores: undefined, ca: undefined, dataKey: Buffer.alloc(32) } as unknown as DomainDeps;
    return { keys: createKeyRetrieval(deps, { firstMs: 5, maxMs: 20 }), calls };
  }
  const unavailable = () => new Refusal('unavailable', 'the workflow service cannot be reached just now');

  it('when Temporal is unreachable at the first tries, then the confirmation is tried again until the workflow hears it', async () => {
    const { keys, calls } = keysWith([unavailable(), unavailable(), unavailable(), undefined]);
    await keys.confirmDownload(pending);
    expect(calls).toEqual(Array(4).fill(pending.workflowId));
  });

  it('when the deadline comes before Temporal does, then the refusal is thrown', async () => {
    const { keys, calls } = keysWith([unavailable(), unavailable()], async () => new Date(Date.parse(pending.downloadDeadline) - 1));
    await expect(keys.confirmDownload(pending)).rejects.toMatchObject({ code: 'unavailable' });
    expect(calls).toHaveLength(1);
  });

  it('when the workflow refuses or fails otherwise, then that is thrown at once', async () => {
    const { keys, calls } = keysWith([new Error('workflow not found')]);
    await expect(keys.confirmDownload(pending)).rejects.toThrow('workflow not found');
    expect(calls).toHaveLength(1);
  });
});
