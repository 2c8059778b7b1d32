// The migration import in bulk: a CSV of user fields with each certificate as PEM, through the import machinery (the
// same validation report, workflow, progress and idempotence as bulk registration), on the real worker.
import { getImport, submitImport, trustPreviousCa, type Actor } from '../../domain';
import { statusQuery } from '../../workflows/definitions';
import { createTestPreviousCa, type TestPreviousCa } from '../support/previous-ca';
import { eventually, startApiStack, type ApiStack } from './stack';

const DAY = 86_400_000;
const admin: Actor = { agent: 'admin-migration', role: 'admin' };

describe('a certificates import file', () => {
  let stack: ApiStack;
  let previous: TestPreviousCa;
  const now = Date.now();
  const live = { notBefore: new Date(now - 400 * DAY), notAfter: new Date(now + 300 * DAY) };

  beforeAll(async () => {
    stack = await startApiStack('certificate-file', { database: 'sqlite' });
    previous = await createTestPreviousCa('Bank A Old Client CA');
    await trustPreviousCa(stack.domain, { profile: 'kdanshinnet', certificatePem: previous.certificatePem });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  function csv(rows: Array<{ userId: string; certificatePem: string; organizationalUnits?: string }>): Buffer {
    const header = 'userId,profile,email,idAdminEmail,organization,organizationalUnits,subscriberId,certificatePem';
    const lines = rows.map((r) =>
      [r.userId, 'kdanshinnet', `${r.userId}@bank.example.co.jp`, `id-admin@bank.example.co.jp`, 'sampleCompany', r.organizationalUnits ?? 'div1-1-1;div1-1;div1', `S-${r.userId}`, r.certificatePem].map(quote).join(','),
    );
    return Buffer.from(`${[header, ...lines].join('\r\n')}\r\n`);
  }

  it('when a file mixes good certificates with a foreign, an expired and a mismatched one, then the valid lines are imported once, each refusal names its line, and the same file again imports nobody twice', async () => {
    const stranger = await createTestPreviousCa('Stranger CA');
    const good = await Promise.all(['blk001', 'blk002', 'blk003'].map((userId) => previous.issue({ userId, ...live })));
    const expired = await previous.issue({ userId: 'blk004', notBefore: new Date(now - 1200 * DAY), notAfter: new Date(now - DAY) });
    const foreign = await stranger.issue({ userId: 'blk005', ...live });
    const otherOus = await previous.issue({ userId: 'blk006', ...live });
    const file = csv([
      { userId: 'blk001', certificatePem: good[0]!.certificatePem },
      { userId: 'blk002', certificatePem: good[1]!.certificatePem },
      { userId: 'blk004', certificatePem: expired.certificatePem },
      { userId: 'blk005', certificatePem: foreign.certificatePem },
      { userId: 'blk006', certificatePem: otherOus.certificatePem, organizationalUnits: 'div9;div1' },
      { userId: 'blk007', certificatePem: 'not a certificate' },
      { userId: 'blk003', certificatePem: good[2]!.certificatePem },
    ]);

    const first = await submitImport(stack.domain, admin, { kind: 'certificates', file, registerValidLines: true });
    if (!first.started) throw new Error('the import did not start');
    // Refused at validation, before anything is imported: the subject and the PEM (each PEM spans several lines).
    expect(first.report).toMatchObject({ total: 7, valid: 5, refused: 2 });
    expect(first.report.refusedLines).toEqual([
      { line: expect.any(Number), label: 'blk006 (kdanshinnet)', errors: [{ field: 'organizationalUnits', message: expect.stringMatching(/do not match/) }] },
      { line: expect.any(Number), label: 'blk007 (kdanshinnet)', errors: [{ field: 'certificatePem', message: expect.stringMatching(/must be one PEM certificate/) }] },
    ]);

    const finished = await eventually(async () => {
      const view = await getImport(stack.domain, first.importId);
      return view.progress.percent === 100 && view.progress.status === 'finished' ? view : undefined;
    }, 'the import to finish', 60_000);
    expect(finished.progress).toMatchObject({ total: 7, refused: 2, done: 3, failed: 2, remaining: 0 });
    // Refused at registration: the issuer, the dates and the CRL are checked by importCertificate.
    const failed = finished.failures.filter((f) => f.status === 'failed');
    expect(failed.map((f) => [f.label, f.errors[0]!.message])).toEqual([
      ['blk004 (kdanshinnet)', expect.stringMatching(/expired on/)],
      ['blk005 (kdanshinnet)', expect.stringMatching(/not signed by a previous CA of profile kdanshinnet/)],
    ]);
    for (const [i, userId] of ['blk001', 'blk002', 'blk003'].entries()) {
      // The import is done once the request is reserved and its workflow started; the workflow then projects its state
      // (and the imported serial) into the request row.
      const user = await eventually(async () => {
        const [found] = (await stack.call('GET', `/api/v1/users/${userId}`, { token: stack.tokens.support })).body;
        return found?.requests?.[0]?.serial ? found : undefined;
      }, `the imported request of ${userId} projected`);
      expect(user.requests).toHaveLength(1);
      expect(user.requests[0]).toMatchObject({ kind: 'imported', serial: good[i]!.serial });
      const live = await stack.env.client.workflow.getHandle(user.requests[0].workflowId).query(statusQuery);
      expect(live).toMatchObject({ state: 'active', kind: 'imported' });
    }
    expect((await stack.call('GET', '/api/v1/users/blk004', { token: stack.tokens.support })).status).toBe(404);

    const again = await submitImport(stack.domain, admin, { kind: 'certificates', file, registerValidLines: true });
    expect(again).toMatchObject({ importId: first.importId, started: true, existing: true });
    for (const userId of ['blk001', 'blk002', 'blk003']) {
      expect((await stack.call('GET', `/api/v1/users/${userId}`, { token: stack.tokens.support })).body[0].requests).toHaveLength(1);
    }
  });
});
