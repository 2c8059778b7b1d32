// Retried activities on the real time-skipping server: one certificate, one mail, however often an attempt fails.
import { retrieveKeyUpdate, statusQuery } from '../../workflows/definitions';
import { DATABASE_KINDS } from '../support/databases';
import { startLifecycleFixture, type LifecycleFixture } from '../support/lifecycle-worker';

describe.each(DATABASE_KINDS)('the certificate workflow when its activities fail and are retried on %s', (database) => {
  let f: LifecycleFixture;
  beforeAll(async () => { f = await startLifecycleFixture(`lifecycle-retries-${database}`, { database }); });
  afterAll(async () => { await f?.stop(); });

  it('when the signing activity loses its answer twice, then exactly one certificate is signed', async () => {
    const { handle, requestId } = await f.start();
    const before = f.ca.signatures;
    f.ca.loseNextAnswers = 2;
    const retrieval = await handle.executeUpdate(retrieveKeyUpdate);
    expect(f.ca.signatures - before).toBe(1);
    expect(f.ca.issued.get(requestId)?.serial).toBe(retrieval.serial);
  });

  it('when the mail activity fails twice, then the guide is delivered once', async () => {
    f.mailer.failNextSends = 2;
    const { handle, requestId } = await f.start();
    await f.env.sleep(60_000);
    expect(f.mailer.kinds(requestId)).toEqual(['userIdNotice', 'acquisitionGuide']);
    expect((await handle.query(statusQuery)).state).toBe('awaitingKeyRetrieval');
  });
});
