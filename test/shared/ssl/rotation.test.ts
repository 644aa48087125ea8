import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SslMethod } from '../../../shared/ssl/method';
import { createMethod } from '../../../shared/ssl/registry';
import { ROTATIONS, rot90, rotationBatch } from '../../../shared/ssl/rotation';
import { expectNoTensorGrowth, expectOfflineRound, expectServerRound, fashionSource, firstAndLastLoss, fixedSource, TINY, useWasm } from './method-helpers';

describe('rotation prediction (Gidaris et al. 2018)', () => {
  beforeAll(useWasm);
  const made: SslMethod[] = [];
  const rotation = () => {
    const m = createMethod('rotation', TINY);
    made.push(m);
    return m;
  };
  afterAll(() => made.forEach((m) => m.dispose()));

  it('rotates by quarter turns with transpose + reverse', () => {
    // 2×2 image [[1, 2], [3, 4]]
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const flat = (k: number) => Array.from(rot90(x, k).dataSync());
    expect(flat(0)).toEqual([1, 2, 3, 4]);
    expect(flat(1)).toEqual([2, 4, 1, 3]); // 90° counter-clockwise
    expect(flat(2)).toEqual([4, 3, 2, 1]);
    expect(flat(3)).toEqual([3, 1, 4, 2]);
    expect(flat(4)).toEqual(flat(0));
    const { images, labels } = rotationBatch(tf.concat([x, tf.mul(x, 10)], 0) as tf.Tensor4D);
    expect(images.shape).toEqual([8, 2, 2, 1]);
    expect(Array.from(labels.dataSync())).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(Array.from(images.dataSync().slice(12, 16))).toEqual([20, 40, 10, 30]);
  });

  it('loss −(1/K) Σ_y log F^y matches a hand-computed value', () => {
    // Rotation's own loss on its own prepared batch, against the formula computed here in plain
    // numbers: F's logits = features · W + b with a known classifier W, b; labels are the
    // rotation index, rotation-major (all 0°, then all 90°, …).
    const m = rotation();
    const [dense] = m.online.models[1].layers.filter((l) => l.getWeights().length === 2);
    const [kernel] = dense.getWeights();
    const [dim, k] = kernel.shape;
    const W = Array.from({ length: dim * k }, (_, i) => Math.sin(i * 1.7) * 0.3);
    const b = [0.5, -0.25, 0, 0.75];
    dense.setWeights([tf.tensor2d(W, [dim, k]), tf.tensor1d(b)]);
    const images = tf.tidy(() => tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 5)) as tf.Tensor4D;
    const prepared = m.prepare(images, 3);
    const features = (m.encoder.apply(prepared[0], { training: true }) as tf.Tensor2D).arraySync();
    const batch = images.shape[0];
    let want = 0;
    features.forEach((f, row) => {
      const logits = b.map((bj, j) => bj + f.reduce((a, v, i) => a + v * W[i * k + j], 0));
      const y = Math.floor(row / batch);
      want -= logits[y] - Math.log(logits.reduce((a, v) => a + Math.exp(v), 0));
    });
    want /= features.length;
    const got = m.loss(prepared);
    expect(features.length).toBe(ROTATIONS * batch);
    expect(got.dataSync()[0]).toBeCloseTo(want, 4);
    tf.dispose([images, got, ...prepared]);
  });

  it('a short run lowers the loss', async () => {
    const { first, last, losses } = await firstAndLastLoss(rotation(), fixedSource(fashionSource(1), 8), 20, 5);
    expect(last, losses.map((l) => l.toFixed(3)).join(' ')).toBeLessThan(first - 0.05);
  });

  it('does not grow the tensor count per step', () => {
    expectNoTensorGrowth(rotation(), fashionSource(2));
  });

  it('one federated round: offline and through the aggregation server', async () => {
    await expectOfflineRound(rotation(), fashionSource(3));
    await expectServerRound('rotation', TINY, fashionSource(4));
  });
});
