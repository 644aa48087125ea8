import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomHorizontalFlip } from '../../../shared/augment/flip';
import { BACKENDS, expectImages, maxAbsDiff, randomImages, useBackend } from './backends';

describe.each(BACKENDS)('randomHorizontalFlip on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('with p = 1 equals reversing the width axis, with p = 0 is the identity', () => {
    const x = randomImages([3, 5, 7, 3]);
    expect(maxAbsDiff(randomHorizontalFlip(x, 1, 1), tf.reverse(x, 2))).toBe(0);
    expect(maxAbsDiff(randomHorizontalFlip(x, 0, 1), x)).toBe(0);
  });

  it('with p = 0.5 flips some images and leaves the others, the same ones for the same seed', () => {
    const x = randomImages([16, 4, 6, 3]);
    const flipped = tf.unstack(tf.reverse(x, 2));
    const images = tf.unstack(x);
    const which = (seed: number) =>
      tf.unstack(randomHorizontalFlip(x, 0.5, seed)).map((y, i) => {
        if (maxAbsDiff(y, flipped[i]) === 0) return true;
        expect(maxAbsDiff(y, images[i])).toBe(0);
        return false;
      });
    const a = which(3);
    expect(a.filter(Boolean).length).toBeGreaterThan(0);
    expect(a.filter(Boolean).length).toBeLessThan(16);
    expect(which(3)).toEqual(a);
    expect(which(4)).not.toEqual(a);
    expectImages(randomHorizontalFlip(x, 0.5, 3), [16, 4, 6, 3]);
  });

  it('frees its intermediates', () => {
    const x = randomImages([4, 4, 4, 3]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      randomHorizontalFlip(x, 0.5, 1);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
