import os from 'node:os';
import { describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import { createKnnEvaluator } from '../../server/eval/knn-evaluator';
import { buildEncoder, DEFAULT_ENCODER } from '../../shared/models/encoder';
import { readWeights } from '../../shared/models/weights-io';

describe('kNN evaluator (child process)', () => {
  it('scores an encoder on the fixture, and after close refuses cleanly instead of throwing uncaught', async () => {
    const ev = createKnnEvaluator({ data: 'fixture', trainCount: 300, testCount: 100 });
    const ready = await ev.ready;
    expect(ready.trainCount).toBe(300);
    expect(ready.rawPixel).toBeGreaterThan(0.5);
    // Every number says which split it was measured on: here a subset of the 60k / 10k protocol.
    expect(ready.split).toMatchObject({ protocol: 'glimpse-fmnist-v1', bank: 300, queries: 100, subset: true });
    expect(ev.split?.()).toMatchObject({ bank: 300, subset: true });
    const encoder = readWeights([{ prefix: '', models: [buildEncoder({ ...DEFAULT_ENCODER, widths: [8, 8, 8], stemWidth: 8 })] }]);
    const ctx = { version: 1, method: 'simclr', methodConfig: { encoder: { widths: [8, 8, 8], stemWidth: 8 } }, encoder, source: 'online' as const };
    const metrics = await ev.evaluate(ctx);
    // Metric names of the shared contract (server/model/eval-summary.ts), with both baselines.
    expect(metrics.knn_top1).toBeGreaterThan(0.2);
    expect(metrics.knn_top1).toBeLessThanOrEqual(1);
    expect(metrics.embedding_std).toBeGreaterThan(0);
    expect(metrics.knn_top1_raw_pixels).toBeCloseTo(ready.rawPixel, 10);
    expect(metrics.knn_top1_random_init).toBeGreaterThan(0.2);
    for (const k of ['linear_1pct', 'linear_10pct', 'linear_1pct_raw_pixels', 'linear_10pct_random_init']) {
      expect(metrics[k], k).toBeGreaterThan(0.1);
      expect(metrics[k], k).toBeLessThanOrEqual(1);
    }
    // The kNN gaps paired query by query (shared/eval/paired.ts): each z has its gap's sign.
    expect(Number.isFinite(metrics.vs_raw_pixels_z)).toBe(true);
    expect(Math.sign(metrics.vs_raw_pixels_z)).toBe(Math.sign(metrics.knn_top1 - metrics.knn_top1_raw_pixels));
    expect(Math.sign(metrics.vs_random_init_z)).toBe(Math.sign(metrics.knn_top1 - metrics.knn_top1_random_init));
    // A wrong encoder config is an evaluation error, not a crash.
    await expect(ev.evaluate({ ...ctx, methodConfig: { encoder: { widths: [16, 16, 16], stemWidth: 8 } } })).rejects.toThrow(/shape/);
    ev.close();
    await expect(ev.evaluate(ctx)).rejects.toThrow(/closed|gone/);
  }, 120_000);

  it('runs its process at the priority it is given (npm start: below the contributors)', async () => {
    const base = os.getPriority();
    const ev = createKnnEvaluator({ data: 'fixture', trainCount: 300, testCount: 100, niceness: 5 });
    try {
      expect(ev.pid).toBeGreaterThan(0);
      expect(os.getPriority(ev.pid!)).toBe(Math.min(19, base + 5));
      await ev.ready;
    } finally {
      ev.close();
    }
    const plain = createKnnEvaluator({ data: 'fixture', trainCount: 300, testCount: 100 });
    try {
      expect(os.getPriority(plain.pid!)).toBe(base);
    } finally {
      plain.close();
    }
  }, 120_000);
});
