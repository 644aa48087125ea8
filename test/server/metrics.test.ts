/**
 * /metrics: the Prometheus exposition of a running server (own registry, counters and histograms
 * fed by server events, gauges read at scrape time), the byte counter, and the test parser.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { sendJson } from '../../server/http/router';
import { trackTraffic } from '../../server/metrics/traffic';
import { startServer } from '../../server/server';
import { connectClient, onlineOnly, randomDelta, startTiny, tempDir, TINY_METHOD_CONFIG } from './helpers';
import { parsePrometheus } from './metrics-parse';

type Srv = Awaited<ReturnType<typeof startTiny>>;

async function scrape(url: string) {
  const r = await fetch(`${url}/metrics`);
  expect(r.status).toBe(200);
  return parsePrometheus(await r.text());
}

describe('Prometheus text parser (test helper)', () => {
  it('reads samples, escaped labels, +Inf and TYPE lines', () => {
    const m = parsePrometheus([
      '# HELP a_total Things.', '# TYPE a_total counter', 'a_total{reason="x \\"y\\"",k="v"} 3', 'a_total 1',
      '# TYPE h histogram', 'h_bucket{le="+Inf"} 2', 'h_sum 0.5', 'h_count 2', '',
    ].join('\n'));
    expect(m.value('a_total', { reason: 'x "y"', k: 'v' })).toBe(3);
    expect(m.value('a_total')).toBe(1);
    expect(m.value('h_bucket', { le: '+Inf' })).toBe(2);
    expect(m.types.get('h')).toBe('histogram');
    expect(m.value('nope')).toBeUndefined();
    expect(() => parsePrometheus('not a metric line at all')).toThrow();
  });
});

describe('GET /metrics', () => {
  const servers: Srv[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.cleanup();
  });

  it('counts accepted and rejected updates, server steps, versions, contributors and traffic', async () => {
    const srv = await startTiny({ aggregation: { bufferSize: 2 } });
    servers.push(srv);
    const empty = await scrape(srv.url);
    expect(empty.value('glimpse_model_version')).toBe(0);
    expect(empty.value('glimpse_updates_rejected_total', { reason: 'too_stale' })).toBe(0);
    expect(empty.value('glimpse_contributors_connected', { client_kind: 'node', backend: 'cpu' })).toBeUndefined();

    const c = await connectClient(srv.url);
    const on = onlineOnly((await c.pullWeights(0)).weights);
    const v1 = c.waitForVersion(0, 10_000);
    for (let i = 0; i < 2; i++) await c.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(on, i) });
    await v1;
    expect(await c.submitDelta({ baseVersion: 1, examples: 0, delta: randomDelta(on, 7) })).toMatchObject({ ok: false, code: 'bad_examples' });
    expect(await c.submitDelta({ baseVersion: 5, examples: 4, delta: randomDelta(on, 8) })).toMatchObject({ ok: false, code: 'unknown_version' });

    const m = await scrape(srv.url);
    expect(m.value('glimpse_model_version')).toBe(1);
    expect(m.value('glimpse_updates_accepted_total')).toBe(2);
    expect(m.value('glimpse_updates_rejected_total', { reason: 'bad_examples' })).toBe(1);
    expect(m.value('glimpse_updates_rejected_total', { reason: 'unknown_version' })).toBe(1);
    expect(m.value('glimpse_contributors_connected', { client_kind: 'node', backend: 'cpu' })).toBe(1);
    expect(m.value('glimpse_aggregation_duration_seconds_count')).toBe(1);
    expect(m.value('glimpse_aggregation_updates_sum')).toBe(2);
    expect(m.value('glimpse_aggregation_updates_bucket', { le: '1' })).toBe(0);
    expect(m.value('glimpse_aggregation_updates_bucket', { le: '2' })).toBe(1);
    expect(m.value('glimpse_update_staleness_bucket', { le: '0' })).toBe(2);
    expect(m.value('glimpse_buffer_fill')).toBe(0);
    expect(m.value('glimpse_buffer_size')).toBe(2);
    expect(m.value('glimpse_aggregation_paused')).toBe(0);
    // Weights went out (pull) and deltas came in: tens of kB for this model.
    expect(m.value('glimpse_network_sent_bytes_total')).toBeGreaterThan(30_000);
    expect(m.value('glimpse_network_received_bytes_total')).toBeGreaterThan(30_000);
    expect(m.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');

    const gone = new Promise((r) => srv.events.on('client:disconnected', r));
    srv.coordinator.pause();
    c.close();
    await gone;
    await srv.coordinator.settled();
    const after = await scrape(srv.url);
    expect(after.value('glimpse_aggregation_paused')).toBe(1);
    expect(after.value('glimpse_contributors_connected', { client_kind: 'node', backend: 'cpu' })).toBeUndefined();
    // Counters never go down between scrapes.
    expect(after.value('glimpse_network_sent_bytes_total')).toBeGreaterThanOrEqual(m.value('glimpse_network_sent_bytes_total')!);
  });

  it('reports accuracy-like evaluation metrics, on a registry of its own per server', async () => {
    const a = await startTiny({ aggregation: { bufferSize: 1 }, evaluator: { evaluate: async () => ({ knn: 0.625, embeddingStd: 0.2 }) } });
    const b = await startTiny();
    servers.push(a, b);
    const c = await connectClient(a.url);
    const on = onlineOnly((await c.pullWeights(0)).weights);
    const v1 = c.waitForVersion(0, 10_000);
    await c.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(on, 1) });
    await v1;
    c.close();
    await a.evalIdle();
    const ma = await scrape(a.url);
    expect(ma.value('glimpse_eval_accuracy', { metric: 'knn' })).toBe(0.625);
    expect(ma.value('glimpse_eval_accuracy', { metric: 'embeddingStd' })).toBeUndefined();
    expect(ma.value('glimpse_eval_version')).toBe(1);
    const mb = await scrape(b.url);
    expect(mb.value('glimpse_eval_accuracy', { metric: 'knn' })).toBeUndefined();
    expect(mb.value('glimpse_updates_accepted_total')).toBe(0);
    expect(await globalRegistry.getSingleMetric('glimpse_model_version')).toBeUndefined();
  });

  it("leaves /metrics to a plugin that defines its own, and can be turned off", async () => {
    const withPlugin = await startTiny({ plugins: [(ctx) => void ctx.router.get('/metrics', (_q, res) => sendJson(res, 200, { mine: true }))] });
    servers.push(withPlugin);
    expect(await (await fetch(`${withPlugin.url}/metrics`)).json()).toEqual({ mine: true });
    expect(withPlugin.metrics).not.toBeNull();
    const t = tempDir();
    const off = await startServer({ port: 0, dataDir: t.dir, methodConfig: TINY_METHOD_CONFIG, log: false, metrics: false, dashboard: false });
    try {
      expect(off.metrics).toBeNull();
      expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${off.url}/admin`)).status).toBe(404);
    } finally {
      await off.close();
      t.cleanup();
    }
  });
});

describe('trackTraffic', () => {
  it('counts the bytes of open and closed connections', async () => {
    const http = createServer((_q, res) => res.end('x'.repeat(10_000)));
    const t = trackTraffic(http);
    // trackTraffic's 'close' listener is attached first, so it has run when these resolve.
    const socketsClosed: Array<Promise<unknown>> = [];
    http.on('connection', (s: Socket) => socketsClosed.push(once(s, 'close')));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    expect(t.totals()).toEqual({ bytesIn: 0, bytesOut: 0, connections: 0 });
    await (await fetch(url, { method: 'POST', body: 'y'.repeat(5_000) })).text();
    const open = t.totals();
    expect(open.bytesOut).toBeGreaterThan(10_000);
    expect(open.bytesIn).toBeGreaterThan(5_000);
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
    await Promise.all(socketsClosed); // sockets emit 'close' after the server's callback
    const closed = t.totals();
    expect(closed.connections).toBe(0);
    expect(closed.bytesOut).toBe(open.bytesOut);
    expect(closed.bytesIn).toBe(open.bytesIn);
  });
});
