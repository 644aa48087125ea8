import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPixelReconstruction, reconstructionOf } from '../../../shared/ssl/reconstruction';
import type { SslMethod } from '../../../shared/ssl/method';
import { createMethod, resolveMethodConfig } from '../../../shared/ssl/registry';
import { readWeights } from '../../../shared/models/weights-io';
import { expectNoTensorGrowth, expectOfflineRound, expectServerRound, fashionSource, fixedSource, firstAndLastLoss, SIZE, TINY, useWasm } from './method-helpers';

describe('pixel reconstruction beside a joint-embedding loss (config.reconstruction)', () => {
  beforeAll(useWasm);
  const made: SslMethod[] = [];
  const make = (name: string, reconstruction: unknown, o: Record<string, unknown> = {}) => {
    const m = createMethod(name, { ...TINY, reconstruction, ...o });
    made.push(m);
    return m;
  };
  afterAll(() => made.forEach((m) => m.dispose()));

  it('reads a checked config: off when absent or λ = 0, a clear error for anything a run config should not carry', () => {
    const cfg = (reconstruction: unknown) => resolveMethodConfig('simclr', { ...TINY, reconstruction });
    expect(reconstructionOf(cfg(undefined))).toBeNull();
    expect(reconstructionOf(cfg({ weight: 0 }))).toBeNull();
    expect(reconstructionOf(cfg({ weight: 100 }))).toEqual({ weight: 100, size: SIZE });
    expect(reconstructionOf(cfg({ weight: 100, size: 8 }))).toEqual({ weight: 100, size: 8 });
    expect(() => reconstructionOf(cfg({ weight: 'lots' }))).toThrow(/reconstruction.weight/);
    expect(() => reconstructionOf(cfg({ weight: Number.NaN }))).toThrow(/reconstruction.weight/);
    expect(() => reconstructionOf(cfg({ weight: -1 }))).toThrow(/reconstruction.weight/);
    expect(() => reconstructionOf(cfg({ weight: 1, size: 5 }))).toThrow(/divisor of the input size 16/);
    expect(() => reconstructionOf(cfg({ weight: 1, size: 32 }))).toThrow(/reconstruction.size/);
    expect(() => reconstructionOf(cfg({ weight: 1, colour: true }))).toThrow(/unknown reconstruction option/);
    expect(() => reconstructionOf(cfg([1]))).toThrow(/reconstruction must be/);
    expect(() => make('simclr', { weight: 1, size: 3 })).toThrow(/reconstruction.size/);
  });

  it('targets the clean image\'s gray level, average-pooled, and scores λ·MSE of the decoder\'s output', () => {
    const r = createPixelReconstruction(resolveMethodConfig('simclr', { ...TINY, reconstruction: { weight: 10, size: 8 } }), 4)!;
    try {
      // Two images whose 2×2 blocks are constant per channel: the pooled gray target is exact.
      const img = tf.tidy(() => tf.image.resizeNearestNeighbor(tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 3), [16, 16]) as tf.Tensor4D);
      const target = r.target(img);
      expect(target.shape).toEqual([2, 64]);
      const gray = tf.tidy(() => tf.reshape(tf.image.resizeNearestNeighbor(tf.mean(img, 3, true) as tf.Tensor4D, [8, 8]), [2, 64]));
      const t = target.dataSync();
      const g = gray.dataSync();
      for (let i = 0; i < t.length; i++) expect(t[i]).toBeCloseTo(g[i], 5);
      const h = tf.randomNormal([4, 4], 0, 1, 'float32', 5) as tf.Tensor2D;
      const loss = r.loss(h, target, 2).dataSync()[0];
      const out = (r.decoder.predict(h) as tf.Tensor).dataSync();
      let se = 0;
      for (let row = 0; row < 4; row++) for (let j = 0; j < 64; j++) se += (out[row * 64 + j] - t[(row % 2) * 64 + j]) ** 2;
      expect(loss).toBeCloseTo((10 * se) / (4 * 64), 4);
      tf.dispose([img, target, gray, h]);
    } finally {
      r.decoder.dispose();
    }
  });

  it.each(['simclr', 'mocov2'])('%s: the decoder is an online head that travels in deltas, and the loss includes its term', async (name) => {
    const plain = make(name, undefined, { queueSize: 32 });
    const withRecon = make(name, { weight: 50, size: 8 }, { queueSize: 32 });
    const names = (m: SslMethod) => [...readWeights([m.online]).keys()];
    expect(names(plain).some((n) => n.startsWith('recon_'))).toBe(false);
    const extra = names(withRecon).filter((n) => !names(plain).includes(n));
    expect(extra.sort()).toEqual(['recon_dense/bias', 'recon_dense/kernel']);
    expect(readWeights([withRecon.online]).get('recon_dense/kernel')!.shape).toEqual([4 * 16, 64]);
    // On one fixed batch, the reconstruction term (λ = 50 × MSE of a random decoder ≫ the
    // contrastive loss's fall) falls fast: it is trained, through the encoder and the decoder.
    const { first, last } = await firstAndLastLoss(withRecon, fixedSource(fashionSource(9), 8), 30, 5, 8, 3e-3, name === 'mocov2' ? 4 : 0);
    expect(last, `${first} → ${last}`).toBeLessThan(first * 0.6);
  }, 120_000);

  it('does not grow the tensor count per step', () => {
    expectNoTensorGrowth(make('simclr', { weight: 10 }), fashionSource(3));
    expectNoTensorGrowth(make('mocov2', { weight: 10 }, { queueSize: 32 }), fashionSource(3));
  });

  it('one federated round: the delta carries the decoder with the other online weights', async () => {
    await expectOfflineRound(make('mocov2', { weight: 10, size: 8 }, { queueSize: 32 }), fashionSource(4));
  });

  it('one round through the aggregation server', async () => {
    await expectServerRound('simclr', { ...TINY, reconstruction: { weight: 10, size: 8 } }, fashionSource(5));
  });
});
