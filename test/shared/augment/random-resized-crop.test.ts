import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { cropBoxesToNormalized, randomResizedCrop, sampleCropBox } from '../../../shared/augment/random-resized-crop';
import { mulberry32 } from '../../../shared/augment/rng';
import { BACKENDS, expectImages, maxAbsDiff, randomImages, useBackend } from './backends';

describe('sampleCropBox', () => {
  it('keeps boxes inside the image with area and aspect ratio in range (up to pixel rounding)', () => {
    const rand = mulberry32(5);
    for (let i = 0; i < 500; i++) {
      const b = sampleCropBox(rand, 40, 56, [0.2, 1], [3 / 4, 4 / 3]);
      expect(b.top).toBeGreaterThanOrEqual(0);
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.top + b.height).toBeLessThanOrEqual(40);
      expect(b.left + b.width).toBeLessThanOrEqual(56);
      expect((b.height * b.width) / (40 * 56)).toBeGreaterThan(0.17);
      expect(b.width / b.height).toBeGreaterThan(0.7);
      expect(b.width / b.height).toBeLessThan(1.42);
    }
  });

  it('falls back to a centre crop with the ratio clamped into range', () => {
    // A full-area crop of ratio ≥ 2 never fits a square image.
    const b = sampleCropBox(mulberry32(1), 30, 30, [1, 1], [2, 3]);
    expect(b).toEqual({ top: 7, left: 0, height: 15, width: 30 });
  });

  it('maps a full crop at the input size onto the pixel centres of the padded image', () => {
    const [[y1, x1, y2, x2]] = cropBoxesToNormalized([{ top: 0, left: 0, height: 9, width: 5 }], 9, 5, 9, 5);
    expect([y1 * 10, x1 * 6, y2 * 10, x2 * 6].map((v) => Number(v.toFixed(12)))).toEqual([1, 1, 9, 5]);
  });

  it('samples at half-pixel centres, as torchvision: 2 pixels → 4 at 0.5 px steps from −0.25', () => {
    // Source coordinates (unpadded) -0.25, 0.25, 0.75, 1.25 → padded 0.75 … 2.25, over (2 + 1).
    const [[y1, , y2]] = cropBoxesToNormalized([{ top: 0, left: 0, height: 2, width: 2 }], 2, 2, 4, 4);
    expect(y1 * 3).toBeCloseTo(0.75, 12);
    expect(y2 * 3).toBeCloseTo(2.25, 12);
  });
});

describe.each(BACKENDS)('randomResizedCrop on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('gives a fixed output shape in [0, 1]', () => {
    const x = randomImages([4, 32, 40, 3]);
    expectImages(randomResizedCrop(x, { outputSize: [20, 24] }, 3), [4, 20, 24, 3]);
    expectImages(randomResizedCrop(x, { outputSize: 16 }, 4), [4, 16, 16, 3]);
  });

  it('is the identity for scale 1 and ratio 1 at the input size', () => {
    const x = randomImages([3, 17, 17, 3]);
    const y = randomResizedCrop(x, { outputSize: 17, scale: [1, 1], ratio: [1, 1] }, 9);
    expect(maxAbsDiff(x, y)).toBeLessThan(1e-5);
  });

  it('upsamples like torchvision bilinear (edge-clamped half-pixel grid)', () => {
    const x = tf.tensor4d([0, 1], [1, 1, 2, 1]);
    const y = randomResizedCrop(x, { outputSize: [1, 4], scale: [1, 1], ratio: [2, 2] }, 1);
    // torch.nn.functional.interpolate([[0, 1]], size=4, mode='bilinear') → 0, 0.25, 0.75, 1
    Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo([0, 0.25, 0.75, 1][i], 6));
  });

  it('never samples outside the image, whatever the box (no zero extrapolation at the edges)', () => {
    const x = tf.fill([64, 32, 32, 3], 0.8) as tf.Tensor4D;
    const y = randomResizedCrop(x, { outputSize: [29, 37], scale: [0.05, 1] }, 21);
    expect(maxAbsDiff(y, tf.fill(y.shape, 0.8))).toBeLessThan(1e-6);
  });

  it('is deterministic in the seed', () => {
    const x = randomImages([4, 24, 24, 3]);
    const a = randomResizedCrop(x, { outputSize: 16 }, 11);
    const b = randomResizedCrop(x, { outputSize: 16 }, 11);
    const c = randomResizedCrop(x, { outputSize: 16 }, 12);
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(0.01);
  });

  it('frees its intermediates', () => {
    const x = randomImages([2, 16, 16, 3]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      randomResizedCrop(x, { outputSize: 8 }, 1);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
