import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hamming, hammingStats, jigsawPermutations } from '../../../shared/ssl/jigsaw-permutations';
import { jigsawBoxes, TILES } from '../../../shared/ssl/jigsaw';
import { crossEntropyWithIndex } from '../../../shared/ssl/losses';
import type { SslMethod } from '../../../shared/ssl/method';
import { createMethod } from '../../../shared/ssl/registry';
import { withSeededInit } from '../../../shared/models/seeded-init';
import { expectNoTensorGrowth, expectOfflineRound, expectServerRound, fashionSource, firstAndLastLoss, fixedSource, TINY, useWasm } from './method-helpers';

describe('jigsaw puzzles (Noroozi & Favaro 2016)', () => {
  beforeAll(useWasm);
  const made: SslMethod[] = [];
  // Seeded weights: the loss-falls check then runs the same 20 steps every time (unseeded, a fresh-clone
  // CI run once drew weights whose short run did not fall by 0.05).
  const jigsaw = (o: Record<string, unknown> = {}) => {
    const m = withSeededInit(1, () => createMethod('jigsaw', { ...TINY, permutations: 8, ...o }));
    made.push(m);
    return m;
  };
  afterAll(() => made.forEach((m) => m.dispose()));

  it('permutation sets are deterministic, valid and pairwise Hamming-distant', () => {
    const a = jigsawPermutations(64, 0, 'min');
    expect(jigsawPermutations(64, 0, 'min')).toEqual(a);
    expect(jigsawPermutations(8, 1, 'min')).not.toEqual(jigsawPermutations(8, 0, 'min'));
    for (const p of a) expect([...p].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(a.map((p) => p.join())).size).toBe(64);
    // max-min greedy: every pair differs in at least 7 of 9 positions.
    const s = hammingStats(a);
    expect(s.min).toBeGreaterThanOrEqual(7);
    // The paper's criterion (Algorithm 1, sum of distances) for 100 permutations: mean ≈ 8, minimum 2.
    const paper = hammingStats(jigsawPermutations(100, 0, 'mean'));
    expect(paper.mean).toBeGreaterThan(8);
    expect(paper.min).toBeGreaterThanOrEqual(2);
    expect(hamming([0, 1, 2], [0, 2, 1])).toBe(2);
  });

  it('boxes: one tile per grid cell, inside it, in the permuted order, with a random gap', () => {
    const perms = [[0, 1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1, 0]];
    const { boxes, labels } = jigsawBoxes(4, perms, 0.8, 5);
    expect(boxes.length).toBe(4 * TILES * 4);
    const offsets = new Set<string>();
    for (let i = 0; i < 4; i++) {
      for (let k = 0; k < TILES; k++) {
        const [y1, x1, y2, x2] = boxes.subarray((i * TILES + k) * 4, (i * TILES + k + 1) * 4);
        const cell = perms[labels[i]][k];
        const cy = Math.floor(cell / 3) / 3;
        const cx = (cell % 3) / 3;
        expect(y1).toBeGreaterThanOrEqual(cy - 1e-6);
        expect(y2).toBeLessThanOrEqual(cy + 1 / 3 + 1e-6);
        expect(x1).toBeGreaterThanOrEqual(cx - 1e-6);
        expect(x2).toBeLessThanOrEqual(cx + 1 / 3 + 1e-6);
        expect(y2 - y1).toBeCloseTo(0.8 / 3, 5);
        offsets.add(`${(y1 - cy).toFixed(4)},${(x1 - cx).toFixed(4)}`);
      }
    }
    expect(offsets.size).toBeGreaterThan(30); // gaps vary from tile to tile
    expect(jigsawBoxes(4, perms, 0.8, 5)).toEqual({ boxes, labels });
  });

  it('cross-entropy over permutation indices matches a hand-computed value', () => {
    const got = crossEntropyWithIndex(tf.tensor2d([[0, Math.log(3)], [0, 0]]), tf.tensor1d([1, 0], 'int32'));
    // −(log(3/4) + log(1/2)) / 2
    expect(got.dataSync()[0]).toBeCloseTo(-(Math.log(0.75) + Math.log(0.5)) / 2, 5);
  });

  it('a short run lowers the loss', async () => {
    const { first, last, losses } = await firstAndLastLoss(jigsaw(), fixedSource(fashionSource(1), 8), 20, 5);
    expect(last, losses.map((l) => l.toFixed(3)).join(' ')).toBeLessThan(first - 0.05);
  });

  it('does not grow the tensor count per step', () => {
    expectNoTensorGrowth(jigsaw(), fashionSource(2));
  });

  it('one federated round: offline and through the aggregation server', async () => {
    await expectOfflineRound(jigsaw(), fashionSource(3));
    await expectServerRound('jigsaw', { ...TINY, permutations: 8 }, fashionSource(4));
  });
});
