import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../../helpers/tf';
import { byolRegression, crossEntropyWithIndex, ntXent } from '../../../shared/ssl/losses';

beforeAll(useCpu);

const val = (t: tf.Tensor) => { const v = t.dataSync()[0]; t.dispose(); return v; };

/** NT-Xent written as the paper's loop (Chen et al. 2020, Algorithm 1), in plain JS. */
function naiveNtXent(z1: number[][], z2: number[][], tau: number): number {
  const z = [...z1, ...z2].map((v) => { const n = Math.hypot(...v); return v.map((x) => x / n); });
  const n = z1.length;
  const sim = (i: number, j: number) => z[i].reduce((s, x, k) => s + x * z[j][k], 0) / tau;
  let total = 0;
  for (let i = 0; i < 2 * n; i++) {
    const pos = (i + n) % (2 * n);
    let denom = 0;
    for (let k = 0; k < 2 * n; k++) if (k !== i) denom += Math.exp(sim(i, k));
    total += -Math.log(Math.exp(sim(i, pos)) / denom);
  }
  return total / (2 * n);
}

describe('SSL losses', () => {
  it('BYOL regression is 2 − 2·cos, averaged over the batch', () => {
    // rows: orthogonal (cos 0 → 2), parallel with different norms (cos 1 → 0), opposite (cos −1 → 4)
    const q = tf.tensor2d([[1, 0], [1, 1], [3, 0]]);
    const z = tf.tensor2d([[0, 5], [2, 2], [-1, 0]]);
    expect(val(byolRegression(q, z))).toBeCloseTo((2 + 0 + 4) / 3, 5);
    // 60° apart: cos = 0.5 → 1
    expect(val(byolRegression(tf.tensor2d([[1, 0]]), tf.tensor2d([[0.5, Math.sqrt(3) / 2]])))).toBeCloseTo(1, 5);
    tf.dispose([q, z]);
  });

  it('cross-entropy with index equals −log softmax at the positive', () => {
    const logits = tf.tensor2d([[1, 2, 3], [0, 0, 0]]);
    const pos = tf.tensor1d([2, 0], 'int32');
    const e = Math.exp;
    const expected = (-Math.log(e(3) / (e(1) + e(2) + e(3))) - Math.log(1 / 3)) / 2;
    expect(val(crossEntropyWithIndex(logits, pos))).toBeCloseTo(expected, 5);
    tf.dispose([logits, pos]);
  });

  it('NT-Xent equals the naive loop implementation', () => {
    let s = 7;
    const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    for (const [n, d, tau] of [[2, 3, 0.5], [5, 4, 0.1], [8, 16, 1]] as const) {
      const a = Array.from({ length: n }, () => Array.from({ length: d }, rnd));
      const b = Array.from({ length: n }, () => Array.from({ length: d }, rnd));
      const got = val(ntXent(tf.tensor2d(a), tf.tensor2d(b), tau));
      expect(got).toBeCloseTo(naiveNtXent(a, b, tau), 4);
    }
  });

  it('NT-Xent hand value: two identical pairs, orthogonal to each other', () => {
    // z = [e1, e2 | e1, e2], τ = 1: each anchor sees its positive at cos 1 and two negatives at cos 0 and 0.
    const z1 = tf.tensor2d([[1, 0], [0, 1]]);
    const expected = -Math.log(Math.E / (Math.E + 1 + 1));
    expect(val(ntXent(z1, z1.clone(), 1))).toBeCloseTo(expected, 5);
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const a = tf.randomNormal([4, 8]) as tf.Tensor2D;
    const b = tf.randomNormal([4, 8]) as tf.Tensor2D;
    tf.dispose([ntXent(a, b), byolRegression(a, b)]);
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
