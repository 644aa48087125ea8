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
    const encoder = readWeights([{ prefix: '', models: [buildEncoder({ ...DEFAULT_ENCODER, widths: [8, 8, 8], stemWidth: 8 })] }]);
    const ctx = { version: 1, method: 'simclr', methodConfig: { encoder: { widths: [8, 8, 8], stemWidth: 8 } }, encoder, source: 'online' as const };
    const metrics = await ev.evaluate(ctx);
    expect(metrics.knn).toBeGreaterThan(0.2);
    expect(metrics.knn).toBeLessThanOrEqual(1);
    expect(metrics.embeddingStd).toBeGreaterThan(0);
    // A wrong encoder config is an evaluation error, not a crash.
    await expect(ev.evaluate({ ...ctx, methodConfig: { encoder: { widths: [16, 16, 16], stemWidth: 8 } } })).rejects.toThrow(/shape/);
    ev.close();
    await expect(ev.evaluate(ctx)).rejects.toThrow(/closed|gone/);
  }, 120_000);
});
