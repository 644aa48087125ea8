import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  grayscale,
  randomColorJitter,
  randomGrayscale,
} from '../../../shared/augment/color-jitter';
import { BACKENDS, expectImages, maxAbsDiff, maxChannelSpread, randomImages, useBackend } from './backends';

const STRENGTHS = { brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 };

describe.each(BACKENDS)('colour jitter on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('is the identity for neutral factors', () => {
    const x = randomImages([2, 5, 5, 3]);
    expect(maxAbsDiff(adjustBrightness(x, [1, 1]), x)).toBe(0);
    expect(maxAbsDiff(adjustContrast(x, [1, 1]), x)).toBeLessThan(1e-6);
    expect(maxAbsDiff(adjustSaturation(x, [1, 1]), x)).toBeLessThan(1e-6);
    expect(maxAbsDiff(adjustHue(x, [0, 0]), x)).toBeLessThan(1e-5);
    // A full turn of hue is the identity too (up to clipping, which [0, 1] inputs never hit).
    expect(maxAbsDiff(adjustHue(x, [1, -1]), x)).toBeLessThan(1e-5);
  });

  it('collapses to the mean luma (contrast 0) and to grayscale (saturation 0)', () => {
    const x = randomImages([2, 4, 4, 3]);
    const flat = adjustContrast(x, [0, 0]);
    expect(maxChannelSpread(flat)).toBeLessThan(1e-6);
    const perImage = tf.unstack(flat).map((img) => tf.max(img).dataSync()[0] - tf.min(img).dataSync()[0]);
    perImage.forEach((spread) => expect(spread).toBeLessThan(1e-6));
    expect(maxAbsDiff(adjustSaturation(x, [0, 0]), grayscale(x))).toBeLessThan(1e-6);
  });

  it('turns red towards yellow for a positive hue shift and leaves gray alone', () => {
    const x = tf.tensor4d([1, 0, 0, 0.3, 0.3, 0.3], [2, 1, 1, 3]);
    const [r, g, b, gr, gg, gb] = adjustHue(x, [0.1, 0.1]).dataSync();
    expect(g).toBeGreaterThan(0.1);
    expect(r).toBeGreaterThan(g);
    expect(b).toBe(0);
    [gr, gg, gb].forEach((v) => expect(v).toBeCloseTo(0.3, 5));
  });

  it('randomGrayscale with p = 1 gives equal channels of the BT.601 luma', () => {
    const x = randomImages([3, 6, 6, 3]);
    const y = randomGrayscale(x, 1, 1);
    expectImages(y, [3, 6, 6, 3]);
    expect(maxChannelSpread(y)).toBe(0);
    const [r, g, b] = x.dataSync();
    expect(y.dataSync()[0]).toBeCloseTo(0.299 * r + 0.587 * g + 0.114 * b, 6);
    expect(maxAbsDiff(randomGrayscale(x, 0, 1), x)).toBe(0);
  });

  it('randomColorJitter keeps shape and range, and is deterministic in the seed', () => {
    const x = randomImages([8, 12, 12, 3]);
    const a = randomColorJitter(x, { ...STRENGTHS, p: 0.8 }, 5);
    expectImages(a, [8, 12, 12, 3]);
    expect(maxAbsDiff(a, randomColorJitter(x, { ...STRENGTHS, p: 0.8 }, 5))).toBe(0);
    expect(maxAbsDiff(a, randomColorJitter(x, { ...STRENGTHS, p: 0.8 }, 6))).toBeGreaterThan(0.01);
    expect(maxAbsDiff(randomColorJitter(x, { ...STRENGTHS, p: 0 }, 5), x)).toBe(0);
  });

  it('keeps a grayscale image gray', () => {
    const gray = tf.tile(randomImages([4, 8, 8, 1]), [1, 1, 1, 3]) as tf.Tensor4D;
    const y = randomColorJitter(gray, { ...STRENGTHS, p: 1 }, 2);
    expectImages(y, [4, 8, 8, 3]);
    expect(maxChannelSpread(y)).toBeLessThan(1e-5);
  });

  it('frees its intermediates', () => {
    const x = randomImages([4, 4, 4, 3]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      randomColorJitter(x, { ...STRENGTHS, p: 0.8 }, 1);
      randomGrayscale(x, 0.5, 1);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
