// Request durations by route pattern on a real Express app: the pattern, never the raw URL, whatever the path carries.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { Router } from 'express';
import { measureRequests, routePattern } from '../../api/http-metrics';
import { errorHandler, HttpError, notFoundHandler } from '../../api/errors';
import { createLogger } from '../../infra/logger';
import { createMetrics, type CertflowMetrics } from '../../infra/metrics';
import { samplesOf, valueOf } from '../support/metrics';

describe('request durations by route pattern', () => {
  let metrics: CertflowMetrics;
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    metrics = createMetrics({ pendingMails: async () => 0, crls: async () => [] }, { defaultMetrics: false });
    const app = express();
    app.use(measureRequests(metrics.httpRequestDuration, 'http'));
    app.get('/things/:id', (req, res) => void res.json({ id: req.params.id }));
    // A labelled mount with a nested labelled mount, as mountPages and the support API mount theirs.
    const outer = Router({ mergeParams: true });
    const inner = Router({ mergeParams: true });
    app.use('/shop/:shop', routePattern('/shop/:shop'), outer);
    outer.get('/items/:item', (_req, res) => void res.send('item'));
    outer.use('/orders/:order', routePattern('/orders/:order'), inner);
    inner.get('/lines/:line', (_req, res) => void res.status(201).send('line'));
    // A route whose error leaves its mount for the app's error handler.
    outer.get('/broken', () => {
      throw new HttpError(409, 'conflict', 'broken on purpose');
    });
    // An unlabelled mount: its matched path is not trusted as a label.
    const unlabelled = Router();
    app.use('/raw/:anything', unlabelled);
    unlabelled.get('/leaf', (_req, res) => void res.send('leaf'));
    app.use(notFoundHandler);
    app.use(errorHandler(createLogger('silent')));
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('when requests hit routes, nested mounts, a failing route, an unlabelled mount, a labelled mount with no such route and nothing, then each is counted under its pattern and no raw value appears', async () => {
    const get = async (path: string, method = 'GET') => (await fetch(`${base}${path}`, { method })).status;
    expect(await get('/things/1')).toBe(200);
    expect(await get('/things/2')).toBe(200);
    expect(await get('/shop/s-77/items/i-1')).toBe(200);
    expect(await get('/shop/s-78/orders/o-9/lines/l-3')).toBe(201);
    expect(await get('/shop/s-79/broken')).toBe(409);
    expect(await get('/raw/secret-value/leaf')).toBe(200);
    expect(await get('/no/such/path-123')).toBe(404);
    expect(await get('/shop/s-80/nothing-here')).toBe(404);
    expect(await get('/things/3', 'POST')).toBe(404);

    const text = await metrics.registry.metrics();
    const count = (labels: Record<string, string>) => valueOf(text, 'certflow_http_request_duration_seconds_count', { listener: 'http', ...labels });
    expect(count({ route: '/things/:id', method: 'GET', status_class: '2xx' })).toBe(2);
    expect(count({ route: '/shop/:shop/items/:item', status_class: '2xx' })).toBe(1);
    expect(count({ route: '/shop/:shop/orders/:order/lines/:line', status_class: '2xx' })).toBe(1);
    expect(count({ route: '/shop/:shop/broken', status_class: '4xx' })).toBe(1);
    expect(count({ route: '*/leaf', status_class: '2xx' })).toBe(1);
    expect(count({ route: 'unmatched', status_class: '4xx' })).toBe(2);
    expect(count({ route: '/shop/:shop/*', status_class: '4xx' })).toBe(1);
    const routes = new Set(samplesOf(text, 'certflow_http_request_duration_seconds_count').map((s) => s.labels.route));
    expect([...routes].sort()).toEqual(['*/leaf', '/shop/:shop/*', '/shop/:shop/broken', '/shop/:shop/items/:item', '/shop/:shop/orders/:order/lines/:line', '/things/:id', 'unmatched']);
    for (const raw of ['s-77', 'i-1', 'o-9', 'secret-value', 'path-123']) expect(text).not.toContain(raw);
    // A histogram: buckets and a sum in seconds.
    expect(valueOf(text, 'certflow_http_request_duration_seconds_bucket', { route: '/things/:id', le: '+Inf' })).toBe(2);
    expect(valueOf(text, 'certflow_http_request_duration_seconds_sum', { route: '/things/:id' })).toBeLessThan(5);
  });
});
