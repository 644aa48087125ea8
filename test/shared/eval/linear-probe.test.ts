import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, randomNormal } from '../../../shared/data/rng';
import { linearProbe } from '../../../shared/eval/linear-probe';
import { useCpu } from '../../helpers/tf';

beforeAll(useCpu);

/** Three Gaussian blobs in 8-d around well-separated centres, offset and scaled like raw features. */
function blobs(n: number, seed: number) {
  const rand = mulberry32(seed);
  const dim = 8;
  const centres = [
    [4, 0, 0, 0, 0, 0, 0, 0],
    [0, 4, 0, 0, 0, 0, 0, 0],
    [0, 0, 4, 0, 0, 0, 0, 0],
  ];
  const emb = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = c;
    for (let j = 0; j < dim; j++) emb[i * dim + j] = 10 + 5 * (centres[c][j] + randomNormal(rand));
  }
  return { emb, labels, dim };
}

describe('linearProbe', () => {
  const train = blobs(600, 1);
  const test = blobs(300, 2);
  const inputs = { trainEmb: train.emb, trainLabels: train.labels, testEmb: test.emb, testLabels: test.labels, dim: 8, numClasses: 3, epochs: 5, batchSize: 64 };

  it.each(['standardize', 'l2'] as const)('learns a separable toy problem (%s), leaving no tensors', (normalize) => {
    const before = tf.memory().numTensors;
    const r = linearProbe({ ...inputs, normalize, epochs: normalize === 'l2' ? 20 : 5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.accuracy).toBeGreaterThan(0.95);
    expect(r.trainAccuracy).toBeGreaterThan(0.95);
    expect(Number.isFinite(r.finalLoss)).toBe(true);
  });

  it('is deterministic for a seed', () => {
    const a = linearProbe({ ...inputs, epochs: 1, seed: 3 });
    const b = linearProbe({ ...inputs, epochs: 1, seed: 3 });
    expect(a).toEqual(b);
  });

  it('rejects mismatched labels', () => {
    expect(() => linearProbe({ ...inputs, testLabels: [0] })).toThrow(/labels/);
  });
});
