import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../../helpers/tf';
import type { EvalSet } from '../../../shared/eval/evaluate';
import { describeSplit, formatScores, labelSubset, probeFeatures, probeRawPixels, PROTOCOL, splitOf, standing, withBaselines } from '../../../shared/eval/protocol';
import { mulberry32 } from '../../../shared/data/rng';

beforeAll(useCpu);

/** A tiny set whose pixels carry the class (a bright square at a class-dependent place) plus noise. */
function toySet(bank: number, queries: number): EvalSet {
  const rand = mulberry32(3);
  const size = 8;
  const make = (n: number) => {
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 4);
    const images = new Float32Array(n * size * size * 3);
    for (let i = 0; i < n; i++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const on = (labels[i] & 1) === (y < 4 ? 0 : 1) && (labels[i] >> 1) === (x < 4 ? 0 : 1);
      const v = (on ? 0.8 : 0.1) + 0.2 * rand();
      for (let c = 0; c < 3; c++) images[((i * size + y) * size + x) * 3 + c] = v;
    }
    return { images, labels, count: n };
  };
  return { train: make(bank), test: make(queries), size, channels: 3, numClasses: 4, grayscale: true };
}

describe('evaluation protocol glimpse-fmnist-v1', () => {
  it('is the named, fixed protocol', () => {
    expect(PROTOCOL).toMatchObject({ name: 'glimpse-fmnist-v1', k: 20, temperature: 0.07, bank: 60_000, queries: 10_000, labelFractions: [0.01, 0.1] });
    expect(Object.isFrozen(PROTOCOL)).toBe(true);
  });

  it('says in every description whether a number is on the full protocol or a subset', () => {
    const set = toySet(40, 20);
    const sub = splitOf(set, 'toy');
    expect(sub).toMatchObject({ bank: 40, queries: 20, subset: true, protocol: 'glimpse-fmnist-v1' });
    expect(describeSplit(sub)).toMatch(/^SUBSET of glimpse-fmnist-v1 \(40 bank \/ 20 queries, not the full 60,000 \/ 10,000; toy\)$/);
    expect(describeSplit({ ...sub, bank: 60_000, queries: 10_000, subset: false })).toBe('full protocol glimpse-fmnist-v1 (60,000 bank / 10,000 queries; toy)');
  });

  it('draws seeded, sorted label subsets of the requested fraction', () => {
    const a = labelSubset(60_000, 0.01, 1);
    expect(a.length).toBe(600);
    expect([...labelSubset(60_000, 0.01, 1)]).toEqual([...a]);
    expect([...labelSubset(60_000, 0.01, 2)]).not.toEqual([...a]);
    for (let i = 1; i < a.length; i++) expect(a[i]).toBeGreaterThan(a[i - 1]);
    expect(labelSubset(50, 0.01, 1).length).toBe(1);
  });

  it('scores kNN and both linear probes; separable features score high, shuffled ones near chance', () => {
    const set = toySet(400, 100);
    const raw = probeRawPixels(set);
    expect(raw.knn_top1).toBeGreaterThan(0.95);
    expect(raw.linear_10pct!).toBeGreaterThan(0.9);
    expect(raw.linear_1pct!).toBeGreaterThan(0.25);
    // Features that ignore the image: chance level (4 classes).
    const dim = 4;
    const rand = mulberry32(9);
    const noise = (n: number) => Float32Array.from({ length: n * dim }, () => rand());
    const junk = probeFeatures(noise(400), noise(100), dim, set);
    expect(junk.knn_top1).toBeLessThan(0.5);
    expect(junk.linear_10pct!).toBeLessThan(0.5);
    expect(probeFeatures(noise(400), noise(100), dim, set, { linear: false })).toEqual({ knn_top1: expect.any(Number) });
  });

  it('puts both baselines beside the encoder under the contract names and says where it stands', () => {
    const m = withBaselines(
      { knn_top1: 0.81, linear_1pct: 0.7, embedding_std: 0.02 },
      { rawPixels: { knn_top1: 0.78, linear_1pct: 0.6 }, randomInit: { knn_top1: 0.72, linear_1pct: 0.5 } },
    );
    expect(m).toEqual({
      knn_top1: 0.81, linear_1pct: 0.7, embedding_std: 0.02,
      knn_top1_raw_pixels: 0.78, linear_1pct_raw_pixels: 0.6, knn_top1_random_init: 0.72, linear_1pct_random_init: 0.5,
    });
    expect(formatScores(m)).toBe('kNN 81.0% (random init 72.0%, raw pixels 78.0%) · 1% labels 70.0% (random init 50.0%, raw pixels 60.0%)');
    expect(standing(m)).toBe('+9.0 points over random init, above raw pixels (+3.0 points)');
    expect(standing({ ...m, knn_top1: 0.75 })).toBe('+3.0 points over random init, below raw pixels (-3.0 points)');
    expect(standing({ ...m, knn_top1: 0.6 })).toBe('12.0 points under random init, below raw pixels (-18.0 points)');
    expect(standing({})).toBe('not evaluated yet');
    // With the evaluation's paired z's (shared/eval/paired.ts), each gap says whether it is noise.
    expect(standing({ ...m, vs_random_init_z: 4.27, vs_raw_pixels_z: 1.04 })).toBe('+9.0 points over random init (paired z 4.3), above raw pixels (+3.0 points, paired z 1.0)');
  });
});
