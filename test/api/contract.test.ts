// The support API's contract: the app certflow composes serves exactly the operations of its OpenAPI document, the
// document is served with its documentation page, and every operation has a test that exercises it (the answers of
// those tests are checked against the document by test/api/stack.ts's recorder).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import express, { type Express, type Router } from 'express';
import { z } from 'zod';
import { defineRoute, mountRoutes, openApiDocument, type SupportRouterDeps } from '../../api/support/contract';
import { createSupportRouter, supportApiDocument, SUPPORT_ROUTES } from '../../api/support/router';
import { DOCS_CSP } from '../../api/support/docs-routes';
import { createLogger } from '../../infra/logger';
import { createHttpSide, createRuntime, type Runtime } from '../../worker/composition';
import { listenOnLoopback } from '../support/listen';
import { loadConfig } from '../../worker/config';
import { launchChromium } from '../web/browser';
import { CONTRACT_COVERAGE } from './contract-coverage';
import { createContractRecorder, operationsOf } from './contract-recorder';

type Json = Record<string, any>;

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  rawPath?: unknown;
  handle: { stack?: Layer[] };
}

/** Every method + path an Express app or router serves, mounts included (Express patterns, `:param`). */
function servedRoutes(stack: Layer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      if (typeof layer.route.path !== 'string') throw new Error(`a route with a non-string path: ${String(layer.route.path)}`);
      return Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${prefix}${layer.route!.path}`);
    }
    if (!layer.handle.stack) return [];
    if (typeof layer.rawPath !== 'string') throw new Error('a mounted router without a string path: this test cannot see its routes');
    return servedRoutes(layer.handle.stack, layer.rawPath === '/' ? prefix : prefix + layer.rawPath);
  });
}

/** The routes under /api/v1, in the document's form (`{param}`). */
function apiRoutes(app: Express | Router): string[] {
  const stack = ('router' in app ? (app as Express).router : app).stack as unknown as Layer[];
  return servedRoutes(stack)
    .filter((r) => / \/api\/v1(\/|$)/.test(r))
    .map((r) => r.replace(/:(\w+)/g, '{$1}'))
    .sort();
}

const documentRoutes = (document: Json) => operationsOf(document).map((o) => `${o.method} ${o.path}`).sort();

describe('the support API contract', () => {
  const document = supportApiDocument() as Json;
  const recorder = createContractRecorder(document);
  let dataDir: string;
  let runtime: Runtime;
  let app: Express;
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-contract-'));
    runtime = await createRuntime(
      loadConfig({
        CERTFLOW_DATA_DIR: dataDir,
        CERTFLOW_CA_PASSPHRASE: crypto.randomBytes(18).toString('base64url'),
        CERTFLOW_DATA_KEY: crypto.randomBytes(32).toString('hex'),
        CERTFLOW_SESSION_SECRET: crypto.randomBytes(32).toString('base64url'),
        CERTFLOW_API_TOKENS: JSON.stringify([{ token: crypto.randomBytes(24).toString('base64url'), role: 'admin', agent: 'admin-sato' }]),
      }),
    );
    // The app as certflow composes it; nothing here calls Temporal, so the connection is never opened.
    const connection = Connection.lazy({ address: '127.0.0.1:1' });
    const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
    ({ app } = await createHttpSide(runtime, { client: new Client({ connection }), connection, logger }));
    ({ server, baseUrl } = await listenOnLoopback(app));
  }, 120_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await runtime?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    recorder.assertExercised(__filename);
  });

  async function get(urlPath: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${baseUrl}${urlPath}`, { headers });
    const text = await res.text();
    recorder.record('GET', urlPath, res.status, res.headers.get('content-type'), text);
    return { status: res.status, headers: res.headers, text };
  }

  describe('routes and document', () => {
    it('when certflow composes its app, then every route under /api/v1 is an operation of the document and every operation is served', () => {
      const served = apiRoutes(app);
      expect(served.length).toBeGreaterThan(10);
      expect(served).toEqual(documentRoutes(document));
    });

    it('when a route is added to the router without a declaration, then the comparison sees it', () => {
      const router = createSupportRouter({ apiTokens: [] } as unknown as SupportRouterDeps);
      router.post('/api/v1/users/:userId/undeclared', (_req, res) => { res.end(); });
      expect(apiRoutes(router)).toEqual([...documentRoutes(document), 'POST /api/v1/users/{userId}/undeclared'].sort());
    });

    it('when a declaration names path parameters its path does not have, or repeats an operation, then it is refused', () => {
      const declared = defineRoute({
        operationId: 'probe',
        method: 'get',
        path: '/probe/:id',
        role: 'support',
        tag: 'test',
        summary: 'probe',
        params: z.object({ other: z.string() }),
        answers: { 200: { description: 'ok', schema: z.object({}) } },
        run: async () => ({ status: 200, body: {} }),
      });
      expect(() => openApiDocument([declared], { title: 't', version: '1' })).toThrow('declares path parameters [other] for /probe/:id');
      const fine = { ...declared, params: z.object({ id: z.string() }) };
      expect(() => mountRoutes(express.Router(), [fine, fine], {} as SupportRouterDeps, (_q, _s, next) => next())).toThrow('probe is declared twice');
      // Express serves the first match: a literal path after a pattern that takes it would never be reached.
      const literal = { ...declared, operationId: 'probeList', path: '/probe/list', params: undefined };
      expect(() => openApiDocument([fine, literal], { title: 't', version: '1' })).toThrow('probeList (/probe/list) is served after probe (/probe/:id)');
      expect(() => openApiDocument([literal, fine], { title: 't', version: '1' })).not.toThrow();
    });

    it('when the document is read, then it is OpenAPI 3.1 with bearer auth, a role on each protected operation and every error answer', () => {
      expect(document).toMatchObject({ openapi: '3.1.0', jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema' });
      expect(document.components.securitySchemes).toEqual({ bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });
      const ops = operationsOf(document).map((o) => document.paths[o.path][o.method.toLowerCase()] as Json);
      expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
      for (const op of ops) {
        const role = op['x-certflow-role'];
        expect(['public', 'support', 'admin']).toContain(role);
        expect(op.security).toEqual(role === 'public' ? [] : [{ bearerAuth: [role] }]);
        const statuses = Object.keys(op.responses);
        expect(statuses).toEqual(expect.arrayContaining(['400', '413', '415', '500', ...(role === 'public' ? [] : ['401'])]));
        if (role === 'admin') expect(statuses).toContain('403');
        for (const status of statuses.filter((s) => Number(s) >= 400)) {
          expect(op.responses[status].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
        }
      }
      // Several media types, each with its schema; raw bytes without one.
      expect(document.paths['/api/v1/diagnose'].post.requestBody).toEqual({
        required: true,
        content: expect.objectContaining({
          'application/json': { schema: expect.objectContaining({ type: 'object', required: ['certificate'] }) },
          'text/plain': { schema: expect.objectContaining({ type: 'string' }) },
          'application/pkix-cert': {},
          'application/octet-stream': {},
        }),
      });
      expect(document.paths['/api/v1/users/{userId}/reissue'].post.responses).toEqual(
        expect.objectContaining({ '201': expect.anything(), '404': expect.anything(), '409': expect.anything(), '503': expect.anything() }),
      );
    });

    it('when every schema of the document is compiled as JSON Schema 2020-12 (strict), then none is refused', () => {
      const ajv = new Ajv2020({ strict: true });
      addFormats(ajv);
      ajv.addKeyword('components');
      ajv.addSchema({ $id: 'openapi', components: document.components }, 'openapi');
      const rebase = (s: unknown) => JSON.parse(JSON.stringify(s).replace(/"\$ref":"#\/components\//g, '"$ref":"openapi#/components/'));
      for (const o of operationsOf(document)) {
        const op = document.paths[o.path][o.method.toLowerCase()] as Json;
        const schemas = [
          ...(op.parameters ?? []).map((p: Json) => p.schema),
          // A binary media type (binaryBody) has no schema, as OpenAPI 3.1 describes raw bytes.
          ...Object.values((op.requestBody?.content ?? {}) as Json).map((m: Json) => m.schema).filter((schema) => schema !== undefined),
          ...Object.values(op.responses as Json).flatMap((r: Json) => Object.values(r.content as Json).map((m: Json) => m.schema)),
        ];
        for (const schema of schemas) expect(() => ajv.compile(rebase(schema))).not.toThrow();
      }
    });

    it('when the document is built, then every operation is assigned a test that exercises it or a reason why none does', () => {
      const ids = operationsOf(document).map((o) => o.operationId).sort();
      expect(Object.keys(CONTRACT_COVERAGE).sort()).toEqual(ids);
      for (const coverage of Object.values(CONTRACT_COVERAGE)) {
        if ('exercisedBy' in coverage) expect(fs.existsSync(path.resolve(__dirname, '../..', coverage.exercisedBy))).toBe(true);
        else expect(coverage.notExercised.length).toBeGreaterThan(10);
      }
    });

    it('when an answer is not what its operation declares, then the recorder refuses it', () => {
      const checker = createContractRecorder(document);
      const request = { requestId: '202611260000001', workflowId: 'w', enrollmentPassword: 'abcdefghjkmn' };
      expect(() => checker.record('POST', '/api/v1/users/emp1/reissue', 201, 'application/json', JSON.stringify(request))).not.toThrow();
      expect(checker.exercised).toEqual(new Set(['reissue']));
      expect(() => checker.record('POST', '/api/v1/users/emp1/reissue', 200, 'application/json', JSON.stringify(request))).toThrow('does not declare 200');
      expect(() => checker.record('POST', '/api/v1/users/emp1/reissue', 201, 'application/json', JSON.stringify({ ...request, hash: 'x' }))).toThrow('does not match');
      expect(() => checker.record('POST', '/api/v1/users/emp1/reissue', 201, 'text/plain', 'x')).toThrow('answered text/plain');
      expect(() => checker.record('GET', '/api/v1/certificates', 403, 'application/json', JSON.stringify({ error: 'forbidden' }))).toThrow('does not match');
      expect(() => checker.record('GET', '/api/v1/elsewhere', 500, 'application/json', '{}')).toThrow('no operation');
      if (process.env.CERTFLOW_CONTRACT_COVERAGE !== 'off') {
        expect(() => checker.assertExercised(path.resolve(__dirname, 'support-api.test.ts'))).toThrow(/never called them: registerUser, revoke/);
      }
    });

    it('when the declarations are read, then every one of them is in SUPPORT_ROUTES once', () => {
      expect(new Set(SUPPORT_ROUTES.map((r) => r.operationId)).size).toBe(SUPPORT_ROUTES.length);
    });
  });

  describe('the document and its page, served', () => {
    it('when anyone asks for /api/v1/openapi.json, then it is the document, no token needed; other paths still need one', async () => {
      const res = await get('/api/v1/openapi.json');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual(document);
      expect((await get('/api/v1/certificates')).status).toBe(401);
      expect((await get('/api/v1/no-such-thing')).status).toBe(401);
    });

    it('when a path of one shape as several operations is asked with a method it lacks, then 405 lists the methods of the operation whose parameters fit', async () => {
      // schemathesis's ST204: POST /imports/{importId} answered 400 from POST /imports/{kind} (`kind` not users|certificates).
      const ask = async (method: string, urlPath: string) => {
        const res = await fetch(`${baseUrl}${urlPath}`, { method });
        return { status: res.status, allow: res.headers.get('allow') };
      };
      expect(await ask('POST', `/api/v1/imports/users-${'0'.repeat(64)}`)).toEqual({ status: 405, allow: 'GET, HEAD, OPTIONS' });
      expect(await ask('GET', '/api/v1/imports/certificate')).toEqual({ status: 405, allow: 'POST, OPTIONS' });
      expect(await ask('GET', '/api/v1/imports/users')).toEqual({ status: 405, allow: 'POST, OPTIONS' });
      // Parameters no operation takes: the methods of the path's shape, and the operation's own 400 or 401.
      expect(await ask('DELETE', '/api/v1/imports/nonsense')).toEqual({ status: 405, allow: 'POST, GET, HEAD, OPTIONS' });
      expect((await ask('POST', '/api/v1/imports/nonsense')).status).toBe(401);
    });

    it('when the docs page is asked for, then it loads only local files under a CSP that allows only them', async () => {
      const page = await get('/api/v1/docs');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toBe(DOCS_CSP);
      expect(DOCS_CSP).not.toMatch(/unsafe|https?:|\*/);
      const links = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      // The empty icon keeps the browser from asking for /favicon.ico.
      expect(links[0]).toBe('data:,');
      const assets = links.slice(1);
      expect(assets).toEqual(['/api/v1/docs/swagger-ui.css', '/api/v1/docs/swagger-ui-bundle.js', '/api/v1/docs/init.js']);
      for (const asset of assets) {
        const res = await get(asset);
        expect(res.status).toBe(200);
        expect(res.text.length).toBeGreaterThan(100);
      }
      expect((await get('/api/v1/docs/init.js')).text).toContain("url: '/api/v1/openapi.json'");
    });

    it('when Chromium opens the docs page, then every operation is shown, with nothing refused by the CSP and nothing fetched elsewhere', async () => {
      const chrome = await launchChromium();
      try {
        const page = await chrome.context.newPage();
        const problems: string[] = [];
        page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
        page.on('pageerror', (e) => problems.push(e.message));
        page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
        page.on('request', (r) => { if (!r.url().startsWith(baseUrl) && !r.url().startsWith('data:')) problems.push(`fetched ${r.url()}`); });
        await page.goto(`${baseUrl}/api/v1/docs`);
        await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
        const ids = operationsOf(document).map((o) => o.operationId);
        expect(await page.locator('.opblock').count()).toBe(ids.length);
        await expect(page.locator('.opblock-summary-path').allTextContents()).resolves.toEqual(
          expect.arrayContaining(['/api/v1/users/{userId}/reissue', '/api/v1/certificates']),
        );
        await expect(page.locator('button.authorize').count()).resolves.toBe(1);
        expect(problems).toEqual([]);
      } finally {
        await chrome.close();
      }
    });
  });
});
