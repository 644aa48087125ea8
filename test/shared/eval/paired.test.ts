import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../../helpers/tf';
import { formatPaired, pairedDifference } from '../../../shared/eval/paired';
import { probeFeatures, probeRawPixels } from '../../../shared/eval/protocol';
import { accuracy } from '../../../shared/eval/knn';
import { mulberry32 } from '../../../shared/data/rng';
import type { EvalSet } from '../../../shared/eval/evaluate';

beforeAll(useCpu);

describe('paired comparison of two classifiers on the same queries (McNemar)', () => {
  it('counts only the queries exactly one of them gets right', () => {
    const labels = Array.from({ length: 100 }, (_, i) => i % 3);
    const wrong = (l: number) => (l + 1) % 3;
    // A right on 0..79, B right on 10..84: A alone on 0..9 (10), B alone on 80..84 (5).
    const a = labels.map((l, i) => (i < 80 ? l : wrong(l)));
    const b = labels.map((l, i) => (i >= 10 && i < 85 ? l : wrong(l)));
    const p = pairedDifference(a, b, labels);
    expect(p).toMatchObject({ n: 100, onlyA: 10, onlyB: 5 });
    expect(p.diff).toBeCloseTo(0.8 - 0.75, 12);
    expect(p.se).toBeCloseTo(Math.sqrt(15 - 25 / 100) / 100, 12);
    expect(p.z).toBeCloseTo(0.05 / p.se, 12);
    expect(pairedDifference(b, a, labels).z).toBeCloseTo(-p.z, 12);
    expect(formatPaired(p)).toBe(`+5.00 points (paired z ${p.z.toFixed(1)}: 10 vs 5 queries only one gets right)`);
  });

  it('is far tighter than independent errors when the two mostly agree', () => {
    const n = 10_000;
    const rand = mulberry32(5);
    const labels = Array.from({ length: n }, () => Math.floor(rand() * 10));
    // Both right on 84% of the queries; A alone on 1%, B alone on 0.4%: +0.6 points.
    const a: number[] = [];
    const b: number[] = [];
    labels.forEach((l, i) => {
      const u = i / n;
      a.push(u < 0.85 ? l : (l + 1) % 10);
      b.push(u < 0.84 || (u >= 0.85 && u < 0.854) ? l : (l + 1) % 10);
    });
    const p = pairedDifference(a, b, labels);
    expect(p.diff).toBeCloseTo(0.006, 12);
    const independentSe = Math.sqrt((0.85 * 0.15 + 0.844 * 0.156) / n);
    expect(p.diff / independentSe).toBeLessThan(1.2);
    expect(p.z).toBeGreaterThan(5);
  });

  it('says 0 when the two never disagree, and refuses mismatched inputs', () => {
    expect(pairedDifference([1, 2], [1, 2], [1, 0])).toMatchObject({ diff: 0, se: 0, z: 0 });
    expect(() => pairedDifference([1], [1, 2], [1, 2])).toThrow(/1 and 2 predictions for 2 labels/);
    expect(() => pairedDifference([], [], [])).toThrow(/no queries/);
  });

  it("gets the protocol's own kNN predictions, whose accuracy is the reported kNN", () => {
    const rand = mulberry32(3);
    const make = (n: number) => {
      const labels = Uint8Array.from({ length: n }, (_, i) => i % 4);
      const images = Float32Array.from({ length: n * 16 * 3 }, (_, j) => ((labels[Math.floor(j / 48)] + (j % 48 === 0 ? 1 : 0)) % 4) * 0.1 + 0.3 * rand());
      return { images, labels, count: n };
    };
    const set: EvalSet = { train: make(200), test: make(60), size: 4, channels: 3, numClasses: 4, grayscale: true };
    let raw: Int32Array | undefined;
    const rawScores = probeRawPixels(set, { linear: false, onKnnPredictions: (p) => (raw = p) });
    expect(raw).toHaveLength(60);
    expect(accuracy(raw!, set.test.labels)).toBe(rawScores.knn_top1);
    const dim = 4;
    const noise = (n: number) => Float32Array.from({ length: n * dim }, () => rand());
    let junk: Int32Array | undefined;
    const junkScores = probeFeatures(noise(200), noise(60), dim, set, { linear: false, onKnnPredictions: (p) => (junk = p) });
    expect(accuracy(junk!, set.test.labels)).toBe(junkScores.knn_top1);
    // Query features that do not line up with the queries' labels are an error, not a score.
    expect(() => probeFeatures(noise(200), noise(59), dim, set, { linear: false })).toThrow(/59 predictions but 60 labels/);
    const p = pairedDifference(raw!, junk!, set.test.labels);
    expect(p.diff).toBeCloseTo(rawScores.knn_top1 - junkScores.knn_top1, 12);
  });
});
