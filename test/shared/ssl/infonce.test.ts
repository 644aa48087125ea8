import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { infoNce, ntXent } from '../../../shared/ssl/losses';
import { useCpu } from '../../helpers/tf';

describe('infoNce (Oord et al. 2018)', () => {
  beforeAll(useCpu);

  it('matches a hand-computed value: one positive, two shared negatives, cosine / τ', () => {
    // q0 = (1,0): cos with k0 = (2,0) is 1; with negatives (0,3) → 0, (−1,0) → −1.
    // q1 = (0,1): cos with k1 = (1,1) is 1/√2; with (0,3) → 1, (−1,0) → 0.
    const tau = 0.5;
    const q = tf.tensor2d([[1, 0], [0, 1]]);
    const k = tf.tensor2d([[2, 0], [1, 1]]);
    const neg = tf.tensor2d([[0, 3], [-1, 0]]);
    const row = (pos: number, negs: number[]) => -Math.log(Math.exp(pos / tau) / [pos, ...negs].reduce((s, x) => s + Math.exp(x / tau), 0));
    const want = (row(1, [0, -1]) + row(Math.SQRT1_2, [1, 0])) / 2;
    const got = infoNce(q, k, neg, tau);
    expect(got.dataSync()[0]).toBeCloseTo(want, 5);
    tf.dispose([q, k, neg, got]);
  });

  it('is log(N) when every score is equal, whatever τ', () => {
    const q = tf.tensor2d([[1, 0, 0]]);
    const k = tf.tensor2d([[0, 1, 0]]);
    const neg = tf.tensor2d([[0, 0, 1], [0, -1, 0.0001], [0, 0, -1]]);
    const got = infoNce(q, k, neg, 0.07);
    expect(got.dataSync()[0]).toBeCloseTo(Math.log(4), 3);
    tf.dispose([q, k, neg, got]);
  });

  it('specialises to NT-Xent: the in-batch negatives of one anchor give the same term', () => {
    // For N = 1 pair, NT-Xent has no negatives other than the twin: each anchor's loss is 0.
    const z1 = tf.tensor2d([[1, 2]]);
    const z2 = tf.tensor2d([[2, 1]]);
    const nt = ntXent(z1, z2, 0.5);
    expect(nt.dataSync()[0]).toBeCloseTo(0, 5);
    tf.dispose([z1, z2, nt]);
  });
});
