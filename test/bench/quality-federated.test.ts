/**
 * bench:quality's federated simulation with the options a real contributor's loop has (uploads
 * packed with error feedback, an optimizer kept across rounds, a base one version stale, a server
 * optimizer and rate decay): on the committed fixture with a small encoder, each variant trains,
 * is evaluated at every checkpoint, says in its notes what it simulated, and leaves no tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { federatedCurve, type FederatedSetting } from '../../bench/quality/federated';
import { RECIPE, type Recipe } from '../../bench/quality/recipe';
import { initNodeBackend } from '../../shared/backends/node-backend';
import { loadFixture } from '../../shared/data/fixture';
import { makeEvalSet } from '../../shared/eval/evaluate';
import { parseUploadSpec } from '../../shared/protocol/compression';

const SMALL: Recipe = {
  ...RECIPE,
  methodConfig: { ...RECIPE.methodConfig, encoder: { widths: [8, 8, 16], stemWidth: 8 } as never, projectionHidden: 32, projectionDim: 16 },
  batch: 8,
  localSteps: 2,
};

describe('bench:quality federated simulation', () => {
  beforeAll(async () => {
    expect(await initNodeBackend('wasm')).toBe('wasm');
  });

  it('runs synchronous and stale rounds, packed uploads, kept optimizers and a decaying server rate', async () => {
    const train = loadFixture('train');
    const set = makeEvalSet(train, loadFixture('test'), { trainCount: 300, testCount: 100 });
    const perRound = 2 * SMALL.localSteps * SMALL.batch;
    const ctx = { set, checkpoints: [0, 2 * perRound, 4 * perRound], deadline: Date.now() + 120_000, linear: false, log: () => {} };
    const variants: FederatedSetting[] = [
      { clients: 2, alpha: 0.5 },
      { clients: 2, alpha: 0.5, delay: 1, upload: parseUploadSpec('int8:topk=0.1'), clientOptimizer: 'kept' },
      { clients: 2, serverOptimizer: { kind: 'fedavgm', lr: 1, momentum: 0.9 }, serverDecay: true },
    ];
    const start = tf.memory().numTensors;
    const curves = [];
    for (const v of variants) curves.push(await federatedCurve('simclr', SMALL, train, v, ctx));
    expect(tf.memory().numTensors).toBe(start);
    for (const c of curves) {
      expect(c.stopped).toBeUndefined();
      expect(c.points.map((p) => p.examples)).toEqual(ctx.checkpoints);
      for (const p of c.points) expect(p.knn_top1).toBeGreaterThan(0.1);
      // Trained: the encoder at the last checkpoint is not the one at 0.
      expect(c.points[2].embedding_std).not.toBe(c.points[0].embedding_std);
    }
    expect(curves[0].notes).toMatch(/fresh client optimizer, base 0 version\(s\) behind, upload float32/);
    expect(curves[1].notes).toMatch(/kept client optimizer, base 1 version\(s\) behind, upload \{"dtype":"int8".*"topK":0\.1/);
    expect(curves[2].notes).toMatch(/"kind":"fedavgm".* cosine to 0 over 4 versions/);
  }, 180_000);
});
