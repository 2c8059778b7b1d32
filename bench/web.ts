// Benchmark: the login page, a CRL and the portal gate, each offered 1,000 requests/s for 20 s over 100 connections
// (loopback), against bare Express "hello" endpoints (HTTP, and HTTPS with the same client certificate) in the same run.
// The offer is open-loop at a constant rate (bench/open-loop.ts), the load generator in this process, the servers in a child.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createSelfSignedServerCertificate } from '../api/tls/server-certificate';
import type { Connection } from '@temporalio/client';
import { openLoop } from './open-loop';
import { startOfflineRuntime } from './offline-runtime';
import { createLogger } from '../infra/logger';
import { createHttpSide } from '../worker/composition';

const SECONDS = Number(process.env.BENCH_WEB_SECONDS ?? 20);
const RATE = 1000;
const CONNECTIONS = 100;
const PFX_PASSWORD = 'bench-pkcs12-password';

interface Endpoints {
  httpBase: string;
  tlsBase: string;
  helloHttp: string;
  helloTls: string;
  pfxBase64: string;
}

/** The child: certflow's two listeners on a fresh data dir, a certificate to present, and the bare baselines. */
async function runServers(): Promise<void> {
  const { dir, runtime, client } = await startOfflineRuntime('web');
  const logger = createLogger('silent');
  const now = new Date();
  await runtime.ca.issue({
    requestId: '202611250000001',
    profile: 'kdanshinnet',
    userId: 'bench001',
    organizationalUnits: ['div1-1-1', 'div1-1', 'div1'],
    organization: 'sampleCompany',
    country: 'JP',
    email: 'bench001@bank-a.example.jp',
    subscriberId: 'bench001',
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 365 * 86_400_000),
  });
  const pfx = await runtime.ca.buildPkcs12('202611250000001', PFX_PASSWORD, { userId: 'bench001' });

  const listen = (server: http.Server | https.Server) =>
    new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  const serverCertificate = await createSelfSignedServerCertificate(['localhost', '127.0.0.1']);
  const { app, tlsServer } = await createHttpSide(runtime, { client, connection: client.connection as Connection, logger, serverCertificate });
  const httpPort = await listen(http.createServer(app));
  const tlsPort = await listen(tlsServer!);
  const hello = express().get('/hello', (_req, res) => void res.type('text/plain').send('hello'));
  const helloHttpPort = await listen(http.createServer(hello));
  const helloTlsPort = await listen(
    https.createServer({ key: serverCertificate.keyPem, cert: serverCertificate.certificatePem, requestCert: true, rejectUnauthorized: false }, hello),
  );
  const endpoints: Endpoints = {
    httpBase: `http://127.0.0.1:${httpPort}`,
    tlsBase: `https://127.0.0.1:${tlsPort}`,
    helloHttp: `http://127.0.0.1:${helloHttpPort}/hello`,
    helloTls: `https://127.0.0.1:${helloTlsPort}/hello`,
    pfxBase64: pfx.toString('base64'),
  };
  process.send!(endpoints);
  process.on('disconnect', async () => {
    await runtime.close();
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

interface Measured {
  name: string;
  p50: number;
  p99: number;
  rps: number;
  errors: number;
}

async function measure(name: string, url: string, tls?: https.AgentOptions): Promise<Measured> {
  const r = await openLoop({ url, ratePerSecond: RATE, seconds: SECONDS, connections: CONNECTIONS, tls, headers: { accept: 'text/html' } });
  const measured = { name, p50: r.p50, p99: r.p99, rps: r.ratePerSecond, errors: r.errors };
  console.log(`${name.padEnd(24)} ${String(measured.rps).padStart(6)} req/s  p50 ${String(measured.p50).padStart(5)} ms  p99 ${String(measured.p99).padStart(5)} ms  errors ${r.errors}`);
  return measured;
}

async function main(): Promise<void> {
  const child = fork(__filename, ['--servers'], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const endpoints = await new Promise<Endpoints>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Endpoints));
    child.once('exit', (code) => reject(new Error(`the server process exited with ${code}`)));
  });
  const clientCertificate = { pfx: Buffer.from(endpoints.pfxBase64, 'base64'), passphrase: PFX_PASSWORD, rejectUnauthorized: false };
  console.log(`${RATE} req/s offered for ${SECONDS} s over ${CONNECTIONS} connections, loopback; servers in one child process, ${os.cpus().length} cores`);
  try {
    const helloHttp = await measure('baseline http hello', endpoints.helloHttp);
    const login = await measure('login page', `${endpoints.httpBase}/enroll/kdanshinnet/login`);
    const crl = await measure('CRL', `${endpoints.httpBase}/crl/kdanshinnet.crl`);
    const helloTls = await measure('baseline https hello', endpoints.helloTls, clientCertificate);
    const gate = await measure('portal gate (mTLS)', `${endpoints.tlsBase}/portal/kdanshinnet/`, clientCertificate);
    const ratio = (m: Measured, base: Measured) => (m.p99 / Math.max(base.p99, 1)).toFixed(2);
    console.log(`p99 / baseline p99: login ${ratio(login, helloHttp)}, CRL ${ratio(crl, helloHttp)}, gate ${ratio(gate, helloTls)}`);
    const errors = login.errors + crl.errors + gate.errors;
    console.log(JSON.stringify({ bench: 'web', login_p99_ms: login.p99, crl_p99_ms: crl.p99, gate_p99_ms: gate.p99, errors }));
  } finally {
    child.disconnect();
  }
}

if (process.argv.includes('--servers')) void runServers();
else void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
