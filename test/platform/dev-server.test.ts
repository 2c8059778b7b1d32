// On the real Temporal dev server: a certificate workflow started, signalled, queried and found by search attribute,
// with the real PKI and mail outbox; then /readyz tells the truth when the server goes away, and /healthz stays up.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SMTPServer } from 'smtp-server';
import { createApp } from '../../api/app';
import { createLogger } from '../../infra/logger';
import { createRuntime, readinessChecks, type Runtime } from '../../worker/composition';
import { createCertflowWorker, type CertflowWorker } from '../../worker/worker';
import { downloadConfirmedSignal, retrieveKeyUpdate, statusQuery } from '../../workflows/definitions';
import { testConfig } from '../support/config';
import { startCertificate } from '../support/lifecycle-harness';
import { createDevServerEnv } from '../support/temporal';

const taskQueue = 'platform-dev-server';

describe('certflow on the Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let runtime: Runtime;
  let worker: CertflowWorker;
  let running: Promise<void>;
  let smtp: SMTPServer;
  let server: http.Server;
  let baseUrl: string;
  const received: string[] = [];
  let serverStopped = false;

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disableReverseLookup: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        stream.on('data', () => undefined);
        stream.on('end', () => {
          received.push(...session.envelope.rcptTo.map((r) => r.address));
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    env = await createDevServerEnv();
    runtime = await createRuntime(testConfig({ CERTFLOW_SMTP_PORT: String(smtpPort) }));
    worker = await createCertflowWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue, activities: runtime.activities });
    running = worker.run();
    const app = createApp({
      logger: createLogger('silent'),
      ops: { checks: readinessChecks(runtime, env.connection), registry: runtime.metrics.registry, timeoutMs: 1500 },
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.close();
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running?.catch(() => undefined);
    if (!serverStopped) await env?.teardown();
    await runtime?.close();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  });

  it('when a certificate workflow is started, updated, signalled and queried, then it is active and listed by its search attributes', async () => {
    const { handle, requestId } = await startCertificate(env.client, runtime.db, taskQueue, 'devsrv001');
    const retrieval = await handle.executeUpdate(retrieveKeyUpdate);
    expect(retrieval.serial).toMatch(/^[0-9a-f]+$/);
    await handle.signal(downloadConfirmedSignal);
    let status = await handle.query(statusQuery);
    for (let i = 0; i < 50 && status.state !== 'active'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await handle.query(statusQuery);
    }
    expect(status).toMatchObject({ state: 'active', serial: retrieval.serial, requestId });
    expect(await runtime.ca.status(retrieval.serial)).toMatchObject({ status: 'good', requestId });

    // Visibility is eventually consistent: the list catches up within moments.
    const query = `CertUserId = 'devsrv001' AND CertStatus = 'active' AND CertProfile = 'kdanshinnet'`;
    let found: string[] = [];
    for (let i = 0; i < 50 && found.length === 0; i++) {
      found = [];
      for await (const execution of env.client.workflow.list({ query })) found.push(execution.workflowId);
      if (!found.length) await new Promise((r) => setTimeout(r, 200));
    }
    expect(found).toEqual([handle.workflowId]);
    expect(received).toEqual(expect.arrayContaining(['admin-of-devsrv001@example.co.jp', 'devsrv001@example.co.jp']));
  });

  it('when Temporal, the database and SMTP answer, then /readyz is 200; when the Temporal server stops, then it is 503 naming Temporal while /healthz stays 200', async () => {
    const up = await fetch(`${baseUrl}/readyz`);
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ status: 'up', checks: { temporal: { status: 'up' }, database: { status: 'up' }, smtp: { status: 'up' } } });

    worker.shutdown();
    await running;
    await env.teardown();
    serverStopped = true;
    const asked = Date.now();
    const down = await fetch(`${baseUrl}/readyz`);
    expect(down.status).toBe(503);
    // Bounded: the check gives up within its 1.5 s timeout rather than waiting on the connection's own retries.
    expect(Date.now() - asked).toBeLessThan(5000);
    const body = (await down.json()) as { status: string; checks: Record<string, { status: string; reason?: string }> };
    expect(body.status).toBe('down: temporal');
    expect(body.checks.temporal).toEqual({ status: 'down', reason: expect.any(String) });
    expect(body.checks.database.status).toBe('up');
    expect(body.checks.smtp.status).toBe('up');
    const live = await fetch(`${baseUrl}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'up' });
  });
});
