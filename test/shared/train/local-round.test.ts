import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../../shared/backends/node-backend';
import { loadFixture } from '../../../shared/data/fixture';
import { ImageBatchSource, toModelInput } from '../../../shared/data/images';
import { withSeededInit } from '../../../shared/models/seeded-init';
import { readWeights } from '../../../shared/models/weights-io';
import { createMethod } from '../../../shared/ssl/registry';
import { TARGET_PREFIX, type SslMethod } from '../../../shared/ssl/method';
import { KeptOptimizer, evaluateLoss, initialGlobalWeights, runLocalRound } from '../../../shared/train/local-round';

// Small but real: the default architecture at reduced width, trained on the committed fixture.
const SMALL = { encoder: { widths: [16, 16, 32], stemWidth: 16 } as never, projectionHidden: 64, projectionDim: 32 };

let batches: ImageBatchSource;
let evalBatch: tf.Tensor4D;

beforeAll(async () => {
  expect(await initNodeBackend('wasm')).toBe('wasm');
  const train = loadFixture('train');
  const images = toModelInput(train.images, train.count, train.height, train.width, 32);
  batches = new ImageBatchSource(images, train.count, 32, 3, 11);
  const evalSource = new ImageBatchSource(images, train.count, 32, 3, 99);
  evalBatch = tf.tensor4d(evalSource.nextBatch(64), [64, 32, 32, 3]);
});

const nextBatch = (b: number) => tf.tensor4d(batches.nextBatch(b), [b, 32, 32, 3]);

function shortRunLowersLoss(name: string, steps: number, lr: number) {
  return async () => {
    // Seeded initial weights: the same run every time. Unseeded, a fresh-clone CI run once drew
    // weights whose SimCLR run (lr 1e-3) fell by 2.9% (4.53 → 4.40) against the 3% bar; at 1e-3 both draws
    // seen fell by about 3% (2.9%, 3.1%), at BYOL's 2e-3 by 5.9–7.0% (init seeds 1, 2, 3).
    const method = withSeededInit(1, () => createMethod(name, SMALL));
    const global = initialGlobalWeights(method);
    const before = evaluateLoss(method, evalBatch, 5);
    const { metrics } = await runLocalRound({ method, global, steps, batchSize: 32, nextBatch, seed: 1, optimizer: { kind: 'adam', learningRate: lr } });
    const after = evaluateLoss(method, evalBatch, 5);
    console.log(`${name}: eval loss ${before.toFixed(4)} → ${after.toFixed(4)}; train losses ${metrics.losses.map((l) => l.toFixed(3)).join(' ')}; ${metrics.msPerStep.toFixed(0)} ms/step on ${metrics.backend}`);
    expect(metrics.losses.every(Number.isFinite)).toBe(true);
    // A real decrease on a fixed held-out batch and fixed views, not noise: at least 3%.
    expect(after).toBeLessThan(before * 0.97);
    method.dispose();
  };
}

describe('local training round', () => {
  it('returns delta = local − global over exactly the online weights, and leaves the target alone', async () => {
    const method = createMethod('byol', SMALL);
    const global = initialGlobalWeights(method);
    const { delta, metrics } = await runLocalRound({ method, global, steps: 2, batchSize: 8, nextBatch, seed: 3 });
    const online = readWeights([method.online]);
    expect([...delta.keys()].sort()).toEqual([...online.keys()].sort());
    expect([...delta.keys()].some((k) => k.startsWith('target/'))).toBe(false);
    for (const [name, d] of delta) {
      const g = global.get(name)!.data;
      const l = online.get(name)!.data;
      for (let i = 0; i < d.data.length; i += 7) expect(g[i] + d.data[i]).toBeCloseTo(l[i], 5);
    }
    expect([...delta.values()].some((d) => d.data.some((x) => x !== 0))).toBe(true);
    // The target's parameters are the server's: a local round never changes them. (Its BatchNorm
    // running statistics may move on this client's copy — BYOL runs the target in training mode,
    // which uses batch statistics — but they are never uploaded: the delta has no target names.)
    const targetParams = method.target.models.flatMap((m) => m.trainableWeights.map((w) => TARGET_PREFIX + w.originalName));
    expect(targetParams.length).toBeGreaterThan(10);
    const target = readWeights([method.target]);
    for (const name of targetParams) expect(Array.from(target.get(name)!.data)).toEqual(Array.from(global.get(name)!.data));
    expect(metrics.examples).toBe(16);
    expect(metrics.losses).toHaveLength(2);
    method.dispose();
  });

  it('does not grow tf.memory().numTensors across steps or rounds', async () => {
    for (const name of ['byol', 'simclr']) {
      const method = createMethod(name, SMALL);
      const global = initialGlobalWeights(method);
      const counts: number[] = [];
      const start = tf.memory().numTensors;
      for (let round = 0; round < 2; round++) {
        await runLocalRound({ method, global, steps: 3, batchSize: 4, nextBatch, seed: round, onStep: () => counts.push(tf.memory().numTensors) });
        expect(tf.memory().numTensors).toBe(start);
      }
      expect(new Set(counts).size).toBe(1);
      method.dispose();
    }
  });

  it('a kept optimizer carries Adam\'s moments into the next round: its first step is no longer ≈ lr on every weight', async () => {
    const lr = 1e-3;
    const opt = { kind: 'adam' as const, learningRate: lr };
    const method = createMethod('simclr', SMALL);
    const global = initialGlobalWeights(method);
    const meanAbs = (d: Map<string, { data: Float32Array }>) => {
      let sum = 0, n = 0;
      for (const t of d.values()) for (const v of t.data) { sum += Math.abs(v); n++; }
      return sum / n;
    };
    // A fresh Adam's first step is lr · m̂/√v̂ = lr · sign(g) on every weight with a gradient.
    const fresh = await runLocalRound({ method, global, steps: 1, batchSize: 16, nextBatch, seed: 7, optimizer: opt });
    expect(meanAbs(fresh.delta)).toBeGreaterThan(0.9 * lr);
    const start = tf.memory().numTensors;
    const kept = new KeptOptimizer(method, opt);
    await runLocalRound({ method, global, steps: 6, batchSize: 16, nextBatch, seed: 1, kept });
    const afterFirst = tf.memory().numTensors; // the moments, created on the first step
    expect(afterFirst).toBeGreaterThan(start);
    // The next round starts from the global weights again, with the moments of the rounds before:
    // noisy coordinates now move by less than lr.
    const next = await runLocalRound({ method, global, steps: 1, batchSize: 16, nextBatch, seed: 7, kept });
    expect(meanAbs(next.delta)).toBeLessThan(0.8 * lr);
    for (let r = 0; r < 2; r++) await runLocalRound({ method, global, steps: 2, batchSize: 8, nextBatch, seed: 20 + r, kept });
    expect(tf.memory().numTensors).toBe(afterFirst); // nothing grows round after round
    expect(kept.fits(method, opt)).toBe(true);
    expect(kept.fits(method, { ...opt, learningRate: 2e-3 })).toBe(false);
    const other = createMethod('simclr', SMALL);
    expect(kept.fits(other, opt)).toBe(false);
    await expect(runLocalRound({ method: other, global, steps: 1, batchSize: 2, nextBatch, seed: 0, kept })).rejects.toThrow(/another method/);
    other.dispose();
    kept.dispose();
    expect(tf.memory().numTensors).toBe(start);
    method.dispose();
  });

  it('BYOL loss is symmetric in its two views', () => {
    const method = createMethod('byol', SMALL);
    initialGlobalWeights(method);
    const x = tf.slice(evalBatch, [0, 0, 0, 0], [8, 32, 32, 3]);
    const [v1, v2, z1, z2] = method.prepare(x, 9);
    const a = method.loss([v1, v2, z1, z2]);
    const b = method.loss([v2, v1, z2, z1]);
    expect(a.dataSync()[0]).toBeCloseTo(b.dataSync()[0], 5);
    expect(a.dataSync()[0]).toBeGreaterThan(0);
    expect(a.dataSync()[0]).toBeLessThanOrEqual(8);
    tf.dispose([x, v1, v2, z1, z2, a, b]);
    method.dispose();
  });

  it('a short BYOL run on the fixture lowers the loss', shortRunLowersLoss('byol', 12, 2e-3));
  it('a short SimCLR run on the fixture lowers the loss', shortRunLowersLoss('simclr', 20, 2e-3));

  it('rejects a global weight map that does not fit the method', async () => {
    const method: SslMethod = createMethod('simclr', SMALL);
    const global = initialGlobalWeights(method);
    global.delete('enc_stem_conv/kernel');
    await expect(runLocalRound({ method, global, steps: 1, batchSize: 2, nextBatch, seed: 0 })).rejects.toThrow(/missing weight 'enc_stem_conv\/kernel'/);
    method.dispose();
  });
});
