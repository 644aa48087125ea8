import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { blurKernelSize, gaussianBlur, gaussianKernel1d, randomGaussianBlur } from '../../../shared/augment/blur';
import { BACKENDS, expectImages, maxAbsDiff, randomImages, useBackend } from './backends';

/** Per-pixel reference: 2-D Gaussian with reflect padding, one image at a time. */
function referenceBlur(x: tf.Tensor4D, sigmas: number[], k: number): Float32Array {
  const [n, h, w, c] = x.shape;
  const v = x.dataSync();
  const out = new Float32Array(v.length);
  const r = (k - 1) / 2;
  const reflect = (i: number, size: number) => (i < 0 ? -i : i >= size ? 2 * size - 2 - i : i);
  for (let b = 0; b < n; b++) {
    const g = gaussianKernel1d(k, sigmas[b]);
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let dy = -r; dy <= r; dy++)
            for (let dx = -r; dx <= r; dx++) {
              const yy = reflect(y + dy, h);
              const xs = reflect(xx + dx, w);
              s += g[dy + r] * g[dx + r] * v[((b * h + yy) * w + xs) * c + ch];
            }
          out[((b * h + y) * w + xx) * c + ch] = s;
        }
  }
  return out;
}

describe('blur kernels', () => {
  it('uses SimCLR / BYOL kernel sides (10% of the image, odd)', () => {
    expect(blurKernelSize(224)).toBe(23);
    expect(blurKernelSize(96)).toBe(9);
    expect(blurKernelSize(32)).toBe(3);
    expect(blurKernelSize(8)).toBe(3);
  });

  it('normalises the 1-D Gaussian', () => {
    const g = gaussianKernel1d(7, 1.3);
    expect(g.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 10);
    expect(g[0]).toBeCloseTo(g[6], 12);
    expect(g[3]).toBe(Math.max(...g));
  });
});

describe.each(BACKENDS)('gaussian blur on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('blurs each image with its own sigma, matching a per-pixel reference', () => {
    const x = randomImages([3, 6, 7, 3]);
    const sigmas = [0.3, 1.0, 2.0];
    const y = gaussianBlur(x, sigmas, 5);
    const ref = referenceBlur(x, sigmas, 5);
    const got = y.dataSync();
    let m = 0;
    for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i] - got[i]));
    expect(m).toBeLessThan(1e-5);
  });

  it('preserves a constant image (and so its mean)', () => {
    const x = tf.fill([4, 16, 16, 3], 0.37) as tf.Tensor4D;
    const y = randomGaussianBlur(x, { p: 1 }, 3);
    expect(maxAbsDiff(x, y)).toBeLessThan(1e-6);
    // Mean in float64: wasm's float32 reduction alone drifts by ~4e-6 over 3k values.
    const v = Array.from(y.dataSync());
    expect(v.reduce((s, t) => s + t, 0) / v.length).toBeCloseTo(0.37, 6);
  });

  it('keeps shape and range, is deterministic in the seed, and p = 0 is the identity', () => {
    const x = randomImages([8, 20, 20, 3]);
    const a = randomGaussianBlur(x, { p: 0.5 }, 4);
    expectImages(a, [8, 20, 20, 3]);
    expect(maxAbsDiff(a, randomGaussianBlur(x, { p: 0.5 }, 4))).toBe(0);
    expect(maxAbsDiff(a, randomGaussianBlur(x, { p: 0.5 }, 5))).toBeGreaterThan(0.01);
    expect(maxAbsDiff(randomGaussianBlur(x, { p: 0 }, 4), x)).toBe(0);
  });

  it('frees its intermediates', () => {
    const x = randomImages([4, 8, 8, 3]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      randomGaussianBlur(x, { p: 0.5 }, 1);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
