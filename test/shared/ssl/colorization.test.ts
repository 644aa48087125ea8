import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { annealedMean, empiricalAbPrior, paperAbBins, Q, rebalanceWeights, softEncodeAb, srgbGamutBins } from '../../../shared/color/ab-bins';
import { COLOUR_FIXTURE_AB_PRIOR } from '../../../shared/color/ab-prior';
import { labToLinearRgbScalar, labToRgb, labToRgbScalar, rgbToLab, rgbToLabScalar } from '../../../shared/color/lab';
import { loadColourFixture } from '../../../shared/data/colour-fixture';
import { rebalancedCrossEntropy, type ColorizationMethod } from '../../../shared/ssl/colorization';
import { createMethod } from '../../../shared/ssl/registry';
import { colourSource, expectNoTensorGrowth, expectOfflineRound, expectServerRound, firstAndLastLoss, fixedSource, SIZE, TINY, useWasm } from './method-helpers';

/** sRGB → Lab reference values (D65; Lindbloom's calculator / scikit-image rgb2lab). */
const REFERENCE: [number[], number[]][] = [
  [[1, 1, 1], [100, 0, 0]],
  [[0, 0, 0], [0, 0, 0]],
  [[1, 0, 0], [53.2408, 80.0925, 67.2032]],
  [[0, 1, 0], [87.7347, -86.1827, 83.1793]],
  [[0, 0, 1], [32.297, 79.1875, -107.8602]],
  [[0.5, 0.5, 0.5], [53.3890, 0, 0]],
];

describe('Lab conversion', () => {
  beforeAll(useWasm);

  it('matches reference values (scalar and tensor) and round-trips', () => {
    const rgb = tf.tensor2d(REFERENCE.map(([c]) => c));
    const lab = rgbToLab(rgb);
    const got = lab.arraySync() as number[][];
    REFERENCE.forEach(([c, want], i) => {
      const s = rgbToLabScalar(c[0], c[1], c[2]);
      for (let j = 0; j < 3; j++) {
        expect(s[j]).toBeCloseTo(want[j], 2);
        expect(got[i][j]).toBeCloseTo(want[j], 1);
      }
      const back = labToRgbScalar(s[0], s[1], s[2]);
      for (let j = 0; j < 3; j++) expect(back[j]).toBeCloseTo(c[j], 5);
    });
    const back = labToRgb(lab).arraySync() as number[][];
    REFERENCE.forEach(([c], i) => c.forEach((v, j) => expect(back[i][j]).toBeCloseTo(v, 3)));
    // random colours round-trip through the tensor ops too
    const r = tf.randomUniform([64, 3], 0, 1, 'float32', 1);
    const rr = labToRgb(rgbToLab(r));
    expect(tf.max(tf.abs(tf.sub(r, rr))).dataSync()[0]).toBeLessThan(2e-3);
    tf.dispose([rgb, lab, r, rr]);
  });
});

describe('the quantised ab space (Zhang et al. 2016, §2.1)', () => {
  it('has Q = 313 bins on the grid of 10, containing every bin the sRGB gamut reaches', () => {
    const bins = paperAbBins();
    expect(bins.length / 2).toBe(313);
    expect(Q).toBe(313);
    const keys = new Set<string>();
    for (let i = 0; i < bins.length; i += 2) {
      expect(Math.abs(bins[i] % 10)).toBe(0);
      expect(Math.abs(bins[i + 1] % 10)).toBe(0);
      keys.add(`${bins[i]},${bins[i + 1]}`);
    }
    expect(keys.size).toBe(313);
    const srgb = srgbGamutBins();
    expect(srgb.length / 2).toBe(261);
    for (let i = 0; i < srgb.length; i += 2) expect(keys.has(`${srgb[i]},${srgb[i + 1]}`)).toBe(true);
    // pure sRGB primaries fall in (or next to) a bin
    const [, a, b] = rgbToLabScalar(1, 0, 0);
    expect(keys.has(`${Math.round(a / 10) * 10},${Math.round(b / 10) * 10}`)).toBe(true);
    // a gamut check in linear RGB: (0, 0) at L = 50 is in gamut
    expect(labToLinearRgbScalar(50, 0, 0).every((c) => c >= 0 && c <= 1)).toBe(true);
  });

  it('soft-encodes with the 5 nearest bins and a Gaussian of σ = 5', async () => {
    await useWasm();
    const bins = tf.tensor2d(paperAbBins(), [Q, 2]);
    // (0, 0) is a bin centre: neighbours at distance 0 (w = 1) and four at 10 (w = e^{−2}).
    const z = softEncodeAb(tf.tensor2d([[0, 0], [3, 0]]), bins);
    const row0 = Array.from(z.arraySync()[0] as number[]);
    const nz = row0.filter((v) => v > 0).sort((x, y) => y - x);
    const e = Math.exp(-100 / 50);
    expect(nz).toHaveLength(5);
    expect(nz[0]).toBeCloseTo(1 / (1 + 4 * e), 5);
    expect(nz[1]).toBeCloseTo(e / (1 + 4 * e), 5);
    const row1 = z.arraySync()[1] as number[];
    expect(row1.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    // (3, 0): nearest (0, 0) at d² = 9, then (10, 0) at 49, (0, ±10) at 109, and (−10, 0) at 169 vs (10, ±10) at 149 → (10, ±10)
    const w = [9, 49, 109, 109, 149].map((d2) => Math.exp(-d2 / 50));
    const sum = w.reduce((s, v) => s + v, 0);
    expect(Math.max(...row1)).toBeCloseTo(w[0] / sum, 5);
    tf.dispose([bins, z]);
  });

  it('rebalancing weights satisfy E_p̃[w] = 1 and favour rare colours', () => {
    const prior = [0.7, 0.2, 0.1];
    const w = rebalanceWeights(prior, 0.5);
    // w ∝ 1 / (0.5 p + 0.5/3)
    const raw = prior.map((p) => 1 / (0.5 * p + 0.5 / 3));
    const e = prior.reduce((s, p, i) => s + p * raw[i], 0);
    raw.forEach((r, i) => expect(w[i]).toBeCloseTo(r / e, 5));
    expect(prior.reduce((s, p, i) => s + p * w[i], 0)).toBeCloseTo(1, 5);
    expect(w[2]).toBeGreaterThan(w[0]);
    const fw = rebalanceWeights(COLOUR_FIXTURE_AB_PRIOR);
    expect(COLOUR_FIXTURE_AB_PRIOR.reduce((s, p, i) => s + p * fw[i], 0)).toBeCloseTo(1, 4);
  });

  it('the committed prior is the fixture\'s empirical distribution', () => {
    const c = loadColourFixture(50);
    const ab = new Float32Array(c.count * c.size * c.size * 2);
    for (let p = 0; p < ab.length / 2; p++) {
      const [, a, b] = rgbToLabScalar(c.images[3 * p] / 255, c.images[3 * p + 1] / 255, c.images[3 * p + 2] / 255);
      ab[2 * p] = a;
      ab[2 * p + 1] = b;
    }
    const prior = empiricalAbPrior(ab);
    expect(prior.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    // 50 of the 2,000 crops: the same most frequent bin as the committed prior.
    const argmax = (xs: ArrayLike<number>) => Array.from(xs).reduce((bi, v, i, arr) => (v > arr[bi] ? i : bi), 0);
    expect(argmax(prior)).toBe(argmax(COLOUR_FIXTURE_AB_PRIOR));
  });

  it('class-rebalanced soft cross-entropy and annealed mean match hand-computed values', async () => {
    await useWasm();
    const logits = tf.tensor2d([[0, 0, Math.log(2)], [1, 0, 0]]);
    const z = tf.tensor2d([[0.5, 0, 0.5], [0, 1, 0]]);
    const v = tf.tensor1d([2, 1]);
    // row 0: log p = [log ¼, log ¼, log ½] → −(0.5 log ¼ + 0.5 log ½)·2; row 1: −log(1/(e+2))
    const want = (-(0.5 * Math.log(0.25) + 0.5 * Math.log(0.5)) * 2 + Math.log(Math.E + 2)) / 2;
    expect(rebalancedCrossEntropy(logits, z, v).dataSync()[0]).toBeCloseTo(want, 5);
    // annealed mean of p = (0.5, 0.25, 0.25) over bins a = 0, 10, 20 with T = 0.5: f ∝ p² = (4, 1, 1)/6
    const am = annealedMean(tf.tensor2d([[0.5, 0.25, 0.25]]), tf.tensor2d([[0, 0], [10, 0], [20, 0]]), 0.5);
    expect(am.dataSync()[0]).toBeCloseTo((0 * 4 + 10 + 20) / 6, 4);
  });
});

describe('colorization (Zhang et al. 2016)', () => {
  beforeAll(useWasm);
  const made: ColorizationMethod[] = [];
  const colorization = () => {
    const m = createMethod('colorization', TINY) as ColorizationMethod;
    made.push(m);
    return m;
  };
  afterAll(() => made.forEach((m) => m.dispose()));

  it('a short run lowers the loss; colorize returns an RGB image with the input\'s lightness', async () => {
    const m = colorization();
    const { first, last, losses } = await firstAndLastLoss(m, fixedSource(colourSource(1), 8), 20, 5);
    expect(last, losses.map((l) => l.toFixed(3)).join(' ')).toBeLessThan(first * 0.9);
    const src = colourSource(9)(2);
    const rgb = m.colorize(src);
    expect(rgb.shape).toEqual([2, SIZE, SIZE, 3]);
    const Lin = tf.slice(rgbToLab(src), [0, 0, 0, 0], [-1, -1, -1, 1]);
    const Lout = tf.slice(rgbToLab(rgb), [0, 0, 0, 0], [-1, -1, -1, 1]);
    // Lightness is kept up to gamut clipping.
    expect(tf.mean(tf.abs(tf.sub(Lin, Lout))).dataSync()[0]).toBeLessThan(5);
    tf.dispose([src, rgb, Lin, Lout]);
  });

  it('does not grow the tensor count per step', () => {
    expectNoTensorGrowth(colorization(), colourSource(2));
  });

  it('one federated round: offline and through the aggregation server', async () => {
    await expectOfflineRound(colorization(), colourSource(3));
    await expectServerRound('colorization', TINY, colourSource(4));
  });
});
