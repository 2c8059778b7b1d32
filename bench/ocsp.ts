// Benchmark: the OCSP responder offered 500 requests/s for 20 s over 50 connections (loopback, open loop as bench:web),
// against a bare Express "hello" on HTTP in the same run. Two kinds of request: GET without a nonce, as nginx sends
// it (the signed answer is reused while the certificate's status is unchanged), and POST with a nonce, as openssl
// sends it (signed each time). certflow's HTTP side comes from the composition root, in a child process.
import { execFile, fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Connection } from '@temporalio/client';
import { openLoop } from './open-loop';
import { startOfflineRuntime } from './offline-runtime';
import { createLogger } from '../infra/logger';
import { createHttpSide } from '../worker/composition';

const exec = promisify(execFile);
const SECONDS = Number(process.env.BENCH_OCSP_SECONDS ?? 20);
const RATE = 500;
const CONNECTIONS = 50;

interface Endpoints {
  ocsp: string;
  hello: string;
  /** DER requests, base64: without and with a nonce. */
  plain: string;
  withNonce: string;
}

/** The child: certflow's HTTP listener on a fresh data dir, one certificate to ask about, and the bare baseline. */
async function runServers(): Promise<void> {
  const { dir, runtime, client } = await startOfflineRuntime('ocsp');
  const now = new Date();
  const issued = await runtime.ca.issue({
    requestId: '202611260000001',
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
  // openssl makes the requests, as a relying party would.
  const file = (name: string, content: string) => (fs.writeFileSync(path.join(dir, name), content), path.join(dir, name));
  const issuer = file('ca.pem', await runtime.ca.caCertificatePem('kdanshinnet'));
  const certificate = file('user.pem', issued.certificatePem);
  const request = async (name: string, nonce: boolean) => {
    await exec('openssl', ['ocsp', '-issuer', issuer, '-cert', certificate, nonce ? '-nonce' : '-no_nonce', '-reqout', path.join(dir, name)]);
    return fs.readFileSync(path.join(dir, name)).toString('base64');
  };

  const listen = (server: http.Server) =>
    new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  const { app } = await createHttpSide(runtime, { client, connection: client.connection as Connection, logger: createLogger('silent') });
  const httpPort = await listen(http.createServer(app));
  const hello = express().get('/hello', (_req, res) => void res.type('text/plain').send('hello'));
  const helloPort = await listen(http.createServer(hello));
  const endpoints: Endpoints = {
    ocsp: `http://127.0.0.1:${httpPort}/ocsp/kdanshinnet`,
    hello: `http://127.0.0.1:${helloPort}/hello`,
    plain: await request('plain.der', false),
    withNonce: await request('nonce.der', true),
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

async function measure(name: string, url: string, post?: Buffer): Promise<Measured> {
  const r = await openLoop({
    url,
    ratePerSecond: RATE,
    seconds: SECONDS,
    connections: CONNECTIONS,
    ...(post ? { method: 'POST', body: post, headers: { 'content-type': 'application/ocsp-request' } } : {}),
  });
  const measured = { name, p50: r.p50, p99: r.p99, rps: r.ratePerSecond, errors: r.errors };
  console.log(`${name.padEnd(28)} ${String(measured.rps).padStart(6)} req/s  p50 ${String(measured.p50).padStart(5)} ms  p99 ${String(measured.p99).padStart(5)} ms  errors ${r.errors}`);
  return measured;
}

async function main(): Promise<void> {
  const child = fork(__filename, ['--servers'], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const endpoints = await new Promise<Endpoints>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Endpoints));
    child.once('exit', (code) => reject(new Error(`the server process exited with ${code}`)));
  });
  console.log(`${RATE} req/s offered for ${SECONDS} s over ${CONNECTIONS} connections, loopback; servers in one child process, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}`);
  try {
    const hello = await measure('baseline http hello', endpoints.hello);
    const get = await measure('OCSP GET, no nonce (nginx)', `${endpoints.ocsp}/${encodeURIComponent(endpoints.plain)}`);
    const post = await measure('OCSP POST, nonce (openssl)', endpoints.ocsp, Buffer.from(endpoints.withNonce, 'base64'));
    const ratio = (m: Measured) => (m.p99 / Math.max(hello.p99, 1)).toFixed(2);
    console.log(`p99 / baseline p99: GET ${ratio(get)}, POST with nonce ${ratio(post)}`);
    console.log(JSON.stringify({ bench: 'ocsp', rate: RATE, baseline_p99_ms: hello.p99, get_p99_ms: get.p99, post_nonce_p99_ms: post.p99, errors: get.errors + post.errors }));
  } finally {
    child.disconnect();
  }
}

if (process.argv.includes('--servers')) void runServers();
else void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
