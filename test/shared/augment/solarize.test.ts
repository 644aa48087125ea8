import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomSolarize, solarize } from '../../../shared/augment/solarize';
import { BACKENDS, expectImages, maxAbsDiff, randomImages, useBackend } from './backends';

describe.each(BACKENDS)('solarize on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('inverts exactly the pixels at or above 0.5', () => {
    const x = tf.tensor4d([0, 0.2, 0.49, 0.5, 0.7, 1], [1, 1, 2, 3]);
    const y = Array.from(solarize(x).dataSync());
    [0, 0.2, 0.49, 0.5, 0.3, 0].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 6));
    expect(Array.from(randomSolarize(x, 1, 1).dataSync())).toEqual(y);
  });

  it('with p = 0 is the identity; with p = 0.5 solarizes whole images, deterministically', () => {
    const x = randomImages([16, 4, 4, 3]);
    expect(maxAbsDiff(randomSolarize(x, 0, 1), x)).toBe(0);
    const full = tf.unstack(solarize(x));
    const original = tf.unstack(x);
    const which = tf.unstack(randomSolarize(x, 0.5, 2)).map((y, i) => maxAbsDiff(y, full[i]) === 0 && maxAbsDiff(y, original[i]) > 0);
    expect(which.filter(Boolean).length).toBeGreaterThan(0);
    expect(which.filter(Boolean).length).toBeLessThan(16);
    expect(maxAbsDiff(randomSolarize(x, 0.5, 2), randomSolarize(x, 0.5, 2))).toBe(0);
    expect(maxAbsDiff(randomSolarize(x, 0.5, 2), randomSolarize(x, 0.5, 3))).toBeGreaterThan(0);
    expectImages(randomSolarize(x, 0.5, 2), [16, 4, 4, 3]);
  });

  it('frees its intermediates', () => {
    const x = randomImages([4, 4, 4, 3]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      randomSolarize(x, 0.5, 1);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
