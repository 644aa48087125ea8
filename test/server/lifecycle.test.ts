/**
 * Graceful restart resumes bit-identically (weights, target, optimizer state, buffer), a run
 * cannot silently change method, the evaluator hook records metrics into history and status,
 * and plugins can add routes and listen to events.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { EvalContext } from '../../server/core/evaluator';
import { sendJson } from '../../server/http/router';
import { connectClient, onlineOnly, randomDelta, sameBits, startTiny, tempDir } from './helpers';

describe('server lifecycle', () => {
  const t = tempDir();
  afterAll(t.cleanup);

  it('resumes from its checkpoint bit-identically, buffer included', async () => {
    const cfg = { dataDir: t.dir, aggregation: { bufferSize: 2, serverOptimizer: { kind: 'fedadam' as const, lr: 0.01, beta1: 0.9, beta2: 0.99, epsilon: 1e-3 } } };
    const a = await startTiny(cfg);
    const c = await connectClient(a.url);
    const on = onlineOnly((await c.pullWeights(0)).weights);
    const v1 = c.waitForVersion(0, 10_000);
    for (let i = 0; i < 2; i++) await c.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(on, i) });
    await v1;
    await c.submitDelta({ baseVersion: 1, examples: 4, delta: randomDelta(on, 9), updateId: 'buffered-0001' });
    const before = await c.pullWeights('latest');
    const stateBefore = a.coordinator.globalState;
    c.close();
    await a.close();

    const b = await startTiny(cfg);
    try {
      expect(b.coordinator.version).toBe(1);
      expect(b.coordinator.bufferedIds()).toEqual(['buffered-0001']);
      const c2 = await connectClient(b.url);
      const after = await c2.pullWeights('latest');
      expect(sameBits(after.weights, before.weights)).toBe(true);
      const stateAfter = b.coordinator.globalState;
      expect(sameBits(stateAfter.optimizer.slots.m, stateBefore.optimizer.slots.m)).toBe(true);
      expect(sameBits(stateAfter.optimizer.slots.v, stateBefore.optimizer.slots.v)).toBe(true);
      // The buffered update is still recognised as a duplicate after the restart.
      expect(await c2.submitDelta({ baseVersion: 1, examples: 4, delta: randomDelta(on, 9), updateId: 'buffered-0001' })).toMatchObject({ ok: true, status: 'duplicate' });
      c2.close();
    } finally {
      await b.close();
    }
    await expect(startTiny({ ...cfg, method: 'simclr' })).rejects.toThrow(/holds a 'byol' run/);
  });

  it('runs the evaluator after new versions and exposes plugins', async () => {
    const seen: EvalContext[] = [];
    const events: number[] = [];
    const s = await startTiny({
      aggregation: { bufferSize: 1 },
      evaluator: {
        evaluate: async (ctx) => (seen.push(ctx), { knn_top1: 0.1 * ctx.version }),
        split: () => ({ protocol: 'glimpse-fmnist-v1', bank: 5000, queries: 1000, subset: true }),
      },
      plugins: [
        (ctx) => {
          ctx.router.get('/metrics', (_q, res) => sendJson(res, 200, { versions: events.length }));
          ctx.events.on('version:created', (e) => events.push(e.version));
          ctx.statusFields.set('plugin', () => 'hello');
        },
      ],
    });
    try {
      const c = await connectClient(s.url);
      const on = onlineOnly((await c.pullWeights(0)).weights);
      const v = c.waitForVersion(0, 10_000);
      await c.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(on, 1) });
      await v;
      c.close();
      await s.evalIdle();
      // The starting version (random init) is scored too: the baseline of the accuracy curve.
      expect(seen.map((x) => [x.version, x.source])).toEqual([[0, 'online'], [1, 'online']]);
      expect([...seen[1].encoder.keys()][0]).toBe('enc_stem_conv/kernel');
      const status = (await (await fetch(`${s.url}/api/status`)).json()) as Record<string, unknown>;
      expect(status.eval).toMatchObject({ version: 1, metrics: { knn_top1: 0.1 } });
      // Which images the numbers are measured on travels with them.
      expect((status.eval as { split: unknown }).split).toEqual({ protocol: 'glimpse-fmnist-v1', bank: 5000, queries: 1000, subset: true });
      expect(status.plugin).toBe('hello');
      expect(await (await fetch(`${s.url}/metrics`)).json()).toEqual({ versions: 1 });
    } finally {
      await s.cleanup();
    }
  });

  it('clients reconnect and say hello again after a server restart; a partial buffer folds after flushAfterMs', async () => {
    const dir = tempDir();
    const cfg = { dataDir: dir.dir, aggregation: { bufferSize: 5, flushAfterMs: 200 } };
    const a = await startTiny(cfg);
    const c = await connectClient(a.url, { submitAttempts: 5 });
    try {
      const on = onlineOnly((await c.pullWeights(0)).weights);
      const folded = c.waitForVersion(0, 10_000);
      await c.submitDelta({ baseVersion: 0, examples: 4, delta: randomDelta(on, 1) });
      expect(await folded).toBe(1); // one update, K = 5: the timer folded it
      const reconnected = new Promise((r) => c.on('reconnect', r));
      await a.close();
      const b = await startTiny({ ...cfg, port: a.port });
      try {
        const plan = (await reconnected) as { version: number };
        expect(plan.version).toBe(1);
        expect(c.plan.version).toBe(1);
        expect((await c.submitDelta({ baseVersion: 1, examples: 4, delta: randomDelta(on, 2) })).ok).toBe(true);
      } finally {
        await b.close();
      }
    } finally {
      c.close();
      dir.cleanup();
    }
  });
});
