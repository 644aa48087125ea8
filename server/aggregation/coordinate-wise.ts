/**
 * Coordinate-wise robust statistics of n deltas (Yin, Chen, Ramchandran & Bartlett 2018,
 * "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates", ICML):
 *
 *   median:        g_j = med_i x_{i,j}
 *   trimmed mean:  g_j = 1/(n − 2b) · Σ of x_{i,j} with the b largest and b smallest removed,
 *                  b = ⌊β·n⌋, β < ½
 *
 * Each coordinate is judged on its own, so a minority of attackers (fewer than b for the trimmed
 * mean, fewer than half for the median) can move a coordinate no further than the honest values'
 * range. Unweighted on purpose: the examples a contributor claims are not checked, and weighting
 * by them would let a liar outvote the rest. Pure; one scratch array per call.
 */
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';
import { zerosFromSpecs } from './fold';

/** b = ⌊β·n⌋ values trimmed from each end, but always at least one value left. */
export function trimCount(n: number, beta: number): number {
  if (!(beta >= 0 && beta < 0.5)) throw new RangeError(`trim fraction must be in [0, 0.5), got ${beta}`);
  return Math.min(Math.floor(beta * n), Math.floor((n - 1) / 2));
}

function perCoordinate(specs: readonly WeightSpec[], inputs: readonly WeightMap[], reduce: (sorted: Float64Array) => number): WeightMap {
  if (inputs.length === 0) throw new Error('a robust statistic needs at least one delta');
  const out = zerosFromSpecs(specs);
  const col = new Float64Array(inputs.length);
  for (const [name, t] of out) {
    const xs = inputs.map((m) => m.get(name)!.data);
    for (let j = 0; j < t.data.length; j++) {
      for (let i = 0; i < xs.length; i++) col[i] = xs[i][j];
      col.sort();
      t.data[j] = reduce(col);
    }
  }
  return out;
}

/** Coordinate-wise median (the mean of the two middle values for even n). */
export function coordinateMedian(specs: readonly WeightSpec[], inputs: readonly WeightMap[]): WeightMap {
  const n = inputs.length;
  const h = n >> 1;
  return perCoordinate(specs, inputs, (s) => (n % 2 ? s[h] : (s[h - 1] + s[h]) / 2));
}

/** Coordinate-wise β-trimmed mean. */
export function trimmedMean(specs: readonly WeightSpec[], inputs: readonly WeightMap[], beta: number): WeightMap {
  const n = inputs.length;
  const b = trimCount(n, beta);
  return perCoordinate(specs, inputs, (s) => {
    let sum = 0;
    for (let i = b; i < n - b; i++) sum += s[i];
    return sum / (n - 2 * b);
  });
}
