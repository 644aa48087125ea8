/**
 * The quantised ab output space of Zhang, Isola & Efros 2016, "Colorful Image Colorization", §2.1:
 * "We quantize the ab output space into bins with grid size 10 and keep the Q = 313 values which
 * are in-gamut" (Fig. 3a).
 *
 * How we get exactly 313. Bin centres are the multiples of 10; a bin is "in gamut" when some
 * colour maps to it. Checked against the sRGB gamut alone (every sRGB colour → nearest grid
 * centre, `srgbGamutBins`) that rule gives 261–262 bins (by sampling density) — fewer than 313, and every one of them is in
 * the paper's set. The paper's set is larger than the sRGB gamut's ab projection (its hull
 * reaches b = 100 where sRGB's b stops at 94.5, and (a, b) = (90, 70), far outside sRGB); it is the
 * set the authors published with their code (resources/pts_in_hull.npy), which matches their
 * Fig. 3a. So Glimpse encodes that figure: for each a row, its contiguous range of in-gamut b
 * values (PAPER_AB_ROWS, 20 rows, 313 bins), and `srgbGamutBins` documents the first-principles
 * check. Bins are ordered a-major, b ascending, as in the published file.
 */
import * as tf from '@tensorflow/tfjs-core';
import { rgbToLabScalar } from './lab';

export const AB_GRID = 10;

/** [a, bMin, bMax] for every a row of Fig. 3a (step 10). */
export const PAPER_AB_ROWS: readonly (readonly [number, number, number])[] = [
  [-90, 50, 90], [-80, 20, 90], [-70, 0, 90], [-60, -20, 90], [-50, -30, 100],
  [-40, -40, 100], [-30, -50, 100], [-20, -50, 100], [-10, -60, 100], [0, -70, 100],
  [10, -80, 90], [20, -80, 90], [30, -90, 90], [40, -100, 90], [50, -100, 80],
  [60, -110, 80], [70, -110, 80], [80, -110, 70], [90, -110, 70], [100, -90, 0],
];

/** The Q = 313 bin centres, [Q·2] as (a, b) pairs. */
export function paperAbBins(): Float32Array {
  const out: number[] = [];
  for (const [a, lo, hi] of PAPER_AB_ROWS) for (let b = lo; b <= hi; b += AB_GRID) out.push(a, b);
  return Float32Array.from(out);
}

export const Q = 313;

/**
 * Grid centres that some sRGB colour quantises to (nearest centre), found by sampling the faces of
 * the RGB cube (the ab projection of the solid gamut is the projection of its surface) at
 * `steps` points per edge. Returns (a, b) pairs, a-major: 261 bins at the default resolution, 262 with every 8-bit colour on the faces (steps = 255).
 */
export function srgbGamutBins(steps = 64): Float32Array {
  const seen = new Set<number>();
  for (let r = 0; r <= steps; r++) {
    for (let g = 0; g <= steps; g++) {
      for (let b = 0; b <= steps; b++) {
        if (r % steps && g % steps && b % steps) continue; // interior point
        const [, A, B] = rgbToLabScalar(r / steps, g / steps, b / steps);
        seen.add(Math.round(A / AB_GRID) * 1000 + Math.round(B / AB_GRID));
      }
    }
  }
  const keys = [...seen].map((k) => {
    const a = Math.round(k / 1000);
    return [a * AB_GRID, (k - a * 1000) * AB_GRID];
  });
  keys.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  return Float32Array.from(keys.flat());
}

/**
 * Soft encoding (§2.1): "we find the 5-nearest neighbors to y_{h,w} in the output space and weight
 * them proportionally to their distance from the ground truth using a Gaussian kernel with σ = 5".
 * ab [P, 2], bins [Q, 2] → Z [P, Q], rows summing to 1.
 */
export function softEncodeAb(ab: tf.Tensor2D, bins: tf.Tensor2D, neighbours = 5, sigma = 5): tf.Tensor2D {
  return tf.tidy(() => {
    const q = bins.shape[0];
    // ‖x − c‖² = ‖x‖² − 2x·c + ‖c‖²
    const d2 = tf.add(tf.sub(tf.sum(tf.square(ab), 1, true), tf.mul(tf.matMul(ab, bins, false, true), 2)), tf.reshape(tf.sum(tf.square(bins), 1), [1, q]));
    const { values, indices } = tf.topk(tf.neg(d2), neighbours);
    const w = tf.exp(tf.div(values, 2 * sigma * sigma)); // values = −d²
    const wn = tf.div(w, tf.sum(w, 1, true));
    const onehot = tf.oneHot(indices, q); // [P, k, Q]
    return tf.sum(tf.mul(onehot, tf.expandDims(wn, 2)), 1) as tf.Tensor2D;
  });
}

/**
 * Hard-assignment histogram of ab values to their nearest bin, smoothed over bins with a Gaussian
 * of σ = 5 (§2.2: "p̃ … the empirical probability of colors in the quantized ab space …
 * smoothed with a Gaussian kernel G_σ"). ab: (a, b) pairs; returns [Q] summing to 1.
 */
export function empiricalAbPrior(ab: Float32Array, bins: Float32Array = paperAbBins(), sigma = 5): Float64Array {
  const q = bins.length / 2;
  const hist = new Float64Array(q);
  for (let p = 0; p < ab.length; p += 2) {
    let best = 0;
    let bestD = Infinity;
    for (let k = 0; k < q; k++) {
      const d = (ab[p] - bins[2 * k]) ** 2 + (ab[p + 1] - bins[2 * k + 1]) ** 2;
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    hist[best]++;
  }
  const smooth = new Float64Array(q);
  for (let i = 0; i < q; i++) {
    for (let k = 0; k < q; k++) {
      const d2 = (bins[2 * i] - bins[2 * k]) ** 2 + (bins[2 * i + 1] - bins[2 * k + 1]) ** 2;
      smooth[i] += hist[k] * Math.exp(-d2 / (2 * sigma * sigma));
    }
  }
  const total = smooth.reduce((s, v) => s + v, 0);
  return smooth.map((v) => v / total);
}

/**
 * Class-rebalancing weights (§2.2, eq. 3–4): w ∝ ((1 − λ)·p̃ + λ/Q)⁻¹, normalised so that
 * E_p̃[w] = Σ_q p̃_q·w_q = 1. λ = 0.5 in the paper.
 */
export function rebalanceWeights(prior: ArrayLike<number>, lambda = 0.5): Float32Array {
  const q = prior.length;
  const w = Float64Array.from({ length: q }, (_, i) => 1 / ((1 - lambda) * prior[i] + lambda / q));
  let expectation = 0;
  for (let i = 0; i < q; i++) expectation += prior[i] * w[i];
  return Float32Array.from(w, (v) => v / expectation);
}

/**
 * Annealed-mean decoding (§2.3): H(Z) = E[f_T(Z)], f_T(z) = exp(log z / T) / Σ_q exp(log z_q / T),
 * T = 0.38. probs [P, Q] (softmax outputs), bins [Q, 2] → ab [P, 2].
 */
export function annealedMean(probs: tf.Tensor2D, bins: tf.Tensor2D, temperature = 0.38): tf.Tensor2D {
  return tf.tidy(() => tf.matMul(tf.softmax(tf.div(tf.log(tf.maximum(probs, 1e-12)), temperature)), bins));
}
