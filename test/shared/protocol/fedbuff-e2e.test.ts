/**
 * End to end over real Socket.IO clients on loopback: three clients submit known deltas and the
 * new global weights equal the FedBuff formula computed here by hand (example weights and
 * staleness included); the target encoder equals the EMA formula.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FederationClient } from '../../../shared/protocol/client';
import type { WeightMap } from '../../../shared/weights/weight-map';
import { connectClient, maxAbsDiff, onlineOnly, randomDelta, startTiny } from '../../server/helpers';

type Srv = Awaited<ReturnType<typeof startTiny>>;

describe('FedBuff over Socket.IO', () => {
  let srv: Srv;
  let clients: FederationClient[];
  beforeAll(async () => {
    srv = await startTiny({
      aggregation: { bufferSize: 3, stalenessExponent: 0.5, maxStaleness: 5, serverOptimizer: { kind: 'fedavg', lr: 1 }, ema: { base: 0.9, kind: 'constant' }, robust: { kind: 'none' } },
    });
    clients = await Promise.all([0, 1, 2].map((i) => connectClient(srv.url, { clientId: `client-${i}` })));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await srv.cleanup();
  });

  it('hello returns the plan', () => {
    const p = clients[0].plan;
    expect(p.method).toBe('byol');
    expect(p.version).toBe(0);
    expect(p.bufferSize).toBe(3);
    expect(p.hasTarget).toBe(true);
    expect(p.maxMessageBytes).toBeGreaterThan(1000);
    expect(p.maxMessageBytes).toBeLessThan(1024 * 1024);
  });

  it('folds three deltas into the example- and staleness-weighted mean, and EMAs the target', async () => {
    const g0 = (await clients[0].pullWeights(0)).weights;
    const on0 = onlineOnly(g0);
    const examples = [10, 20, 30];
    const d = [0, 1, 2].map((i) => randomDelta(on0, 100 + i));
    const versionSeen = clients[0].waitForVersion(0, 20_000);
    const acks = [];
    for (let i = 0; i < 3; i++) acks.push(await clients[i].submitDelta({ baseVersion: 0, examples: examples[i], metrics: { loss: 1 + i }, delta: d[i] }));
    expect(acks.map((a) => a.ok && a.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(await versionSeen).toBe(1);

    const g1 = (await clients[1].pullWeights('latest')).weights;
    const total = 60;
    const expectOnline1 = (name: string, j: number) => g0.get(name)!.data[j] + examples.reduce((s, n, i) => s + (n / total) * d[i].get(name)!.data[j], 0);
    checkAll(on0, g1, expectOnline1);
    // EMA with m = 0.9 on every declared pair: target/x ← 0.9·target/x + 0.1·x(new online)
    for (const [name, t] of g0) {
      if (!name.startsWith('target/')) continue;
      const on = g1.get(name.slice('target/'.length))!;
      const got = g1.get(name)!.data;
      const want = Array.from(t.data, (x, j) => 0.9 * x + 0.1 * on.data[j]);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
    }

    // Second step with staleness: two deltas on version 1 (τ = 0), one still on version 0 (τ = 1).
    const e = [0, 1, 2].map((i) => randomDelta(on0, 200 + i));
    const ex2 = [5, 5, 10];
    const bases = [1, 1, 0];
    const next = clients[2].waitForVersion(1, 20_000);
    for (let i = 0; i < 3; i++) {
      const a = await clients[i].submitDelta({ baseVersion: bases[i], examples: ex2[i], delta: e[i] });
      expect(a.ok).toBe(true);
    }
    expect(await next).toBe(2);
    const g2 = (await clients[0].pullWeights(2)).weights;
    const s = (tau: number) => Math.pow(1 + tau, -0.5);
    const expectOnline2 = (name: string, j: number) =>
      g1.get(name)!.data[j] + ex2.reduce((acc, n, i) => acc + s(1 - bases[i]) * (n / 20) * e[i].get(name)!.data[j], 0);
    checkAll(on0, g2, expectOnline2);
    expect(srv.coordinator.lastAggregation!.updates.map((u) => u.staleness)).toEqual([0, 0, 1]);
  });

  it('counts a duplicate update id once', async () => {
    const on = onlineOnly((await clients[0].pullWeights('latest')).weights);
    const v = srv.coordinator.version;
    const fill = srv.coordinator.bufferFill;
    const delta = randomDelta(on, 7);
    const a1 = await clients[0].submitDelta({ baseVersion: v, examples: 8, delta, updateId: 'dup-update-0001' });
    const a2 = await clients[1].submitDelta({ baseVersion: v, examples: 8, delta, updateId: 'dup-update-0001' });
    expect(a1).toMatchObject({ ok: true, status: 'accepted' });
    expect(a2).toMatchObject({ ok: true, status: 'duplicate' });
    expect(srv.coordinator.bufferFill).toBe(fill + 1);
  });
});

function checkAll(online: WeightMap, got: WeightMap, want: (name: string, j: number) => number): void {
  let worst = 0;
  for (const [name, t] of online) {
    const g = got.get(name)!.data;
    for (let j = 0; j < t.data.length; j++) worst = Math.max(worst, Math.abs(g[j] - want(name, j)));
  }
  expect(worst).toBeLessThan(1e-6);
}
