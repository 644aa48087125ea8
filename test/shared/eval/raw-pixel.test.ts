import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadFixture } from '../../../shared/data/fixture';
import { rawPixelKnnAccuracy } from '../../../shared/eval/raw-pixel';

// This file runs on wasm, not the cpu reference: the 1k x 2k x 784 similarity matmul takes
// 5-10 s on the cpu backend and ~0.4 s on wasm, with the identical accuracy (77.3%). kNN
// correctness against a naive loop is checked on cpu in knn.test.ts.
beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
  await tf.ready();
});

describe('rawPixelKnnAccuracy', () => {
  it('gives a plausible baseline on the Fashion-MNIST fixture (2k train / 1k test)', () => {
    const train = loadFixture('train');
    const test = loadFixture('test');
    const acc = rawPixelKnnAccuracy({
      trainImages: train.images,
      trainLabels: train.labels,
      trainCount: train.count,
      testImages: test.images,
      testLabels: test.labels,
      testCount: test.count,
      numClasses: 10,
    });
    console.log(`raw-pixel kNN (k=20, τ=0.07) on the fixture: ${(acc * 100).toFixed(1)}%`);
    expect(acc).toBeGreaterThan(0.7);
    expect(acc).toBeLessThan(0.85);
  });

  it('rejects image sets of different sizes', () => {
    expect(() =>
      rawPixelKnnAccuracy({
        trainImages: new Uint8Array(8),
        trainLabels: [0, 1],
        trainCount: 2,
        testImages: new Uint8Array(3),
        testLabels: [0],
        testCount: 1,
        numClasses: 2,
      }),
    ).toThrow(/do not split/);
  });
});
