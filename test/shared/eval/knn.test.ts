import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../shared/data/rng';
import { knnAccuracy, knnPredict } from '../../../shared/eval/knn';
import { useCpu } from '../../helpers/tf';

beforeAll(useCpu);

/** The textbook algorithm, one query at a time in float64: cosine, sort, top-k, exp(s/τ) vote. */
function naiveKnn(train: Float32Array, labels: ArrayLike<number>, test: Float32Array, dim: number, numClasses: number, k: number, tau: number): number[] {
  const rows = (m: Float32Array) => Array.from({ length: m.length / dim }, (_, r) => Array.from(m.subarray(r * dim, (r + 1) * dim)));
  const unit = (v: number[]) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const tr = rows(train).map(unit);
  return rows(test).map((q) => {
    const qu = unit(q);
    const sims = tr.map((t, i) => ({ s: t.reduce((a, x, j) => a + x * qu[j], 0), i }));
    sims.sort((a, b) => b.s - a.s);
    const votes = new Array(numClasses).fill(0);
    for (const { s, i } of sims.slice(0, k)) votes[labels[i]] += Math.exp(s / tau);
    return votes.indexOf(Math.max(...votes));
  });
}

describe('knn', () => {
  it('gives the hand-computed similarity-weighted vote', () => {
    // Train points on the unit circle (2-d). Query q = (1, 0).
    //   a = (cos 60°, sin 60°), class 0: s = 0.5
    //   b = (cos 60°, -sin 60°), class 0: s = 0.5
    //   c = (0.9, sqrt(1 - 0.81)), class 1: s = 0.9
    //   d = (-1, 0), class 2: s = -1 (outside k = 3)
    // Majority vote says class 0 (2 of 3); the weighted vote says class 1:
    //   w0 = 2·exp(0.5/0.07) ≈ 2·1262.6 ≈ 2525, w1 = exp(0.9/0.07) ≈ 3.8e5.
    // With τ = 1 the weights flatten: w0 = 2·e^0.5 ≈ 3.30 > w1 = e^0.9 ≈ 2.46 → class 0.
    const c60 = Math.cos(Math.PI / 3);
    const s60 = Math.sin(Math.PI / 3);
    const trainEmb = Float32Array.from([c60, s60, c60, -s60, 0.9, Math.sqrt(0.19), -1, 0]);
    const trainLabels = [0, 0, 1, 2];
    // The query is scaled by 3 to check that cosine ignores the norm.
    const testEmb = Float32Array.from([3, 0]);
    const base = { trainEmb, trainLabels, testEmb, dim: 2, numClasses: 3, k: 3 };
    expect(Array.from(knnPredict(base))).toEqual([1]);
    expect(Array.from(knnPredict({ ...base, temperature: 1 }))).toEqual([0]);
    // k = 1 is plain nearest neighbour.
    expect(Array.from(knnPredict({ ...base, k: 1, temperature: 1 }))).toEqual([1]);
    expect(knnAccuracy({ ...base, testLabels: [1] })).toBe(1);
  });

  it('matches a naive loop implementation on random data (chunked, default k and τ)', () => {
    const rand = mulberry32(11);
    const dim = 16;
    const numClasses = 5;
    const nTrain = 300;
    const nTest = 57;
    const trainEmb = Float32Array.from({ length: nTrain * dim }, () => rand() * 2 - 1);
    const testEmb = Float32Array.from({ length: nTest * dim }, () => rand() * 2 - 1);
    const trainLabels = Int32Array.from({ length: nTrain }, () => Math.floor(rand() * numClasses));
    const before = tf.memory().numTensors;
    // chunkSize 10 leaves a ragged last chunk of 7.
    const got = knnPredict({ trainEmb, trainLabels, testEmb, dim, numClasses, chunkSize: 10 });
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(got)).toEqual(naiveKnn(trainEmb, trainLabels, testEmb, dim, numClasses, 20, 0.07));
    // Chunking does not change the answer.
    expect(knnPredict({ trainEmb, trainLabels, testEmb, dim, numClasses })).toEqual(got);
  });

  it('clamps k to the train size and rejects mismatched inputs', () => {
    const base = { trainEmb: Float32Array.from([1, 0, 0, 1]), trainLabels: [0, 1], testEmb: Float32Array.from([1, 0.1]), dim: 2, numClasses: 2 };
    expect(Array.from(knnPredict(base))).toEqual([0]);
    expect(() => knnPredict({ ...base, trainLabels: [0] })).toThrow(/2 train rows but 1 labels/);
    expect(() => knnPredict({ ...base, dim: 3 })).toThrow(/not a multiple of dim 3/);
    expect(() => knnPredict({ ...base, trainLabels: [0, 2] })).toThrow(/train label 2 at 1 is not in 0..1/);
  });
});
