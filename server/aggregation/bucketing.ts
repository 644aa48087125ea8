/**
 * Bucketing (Karimireddy, He & Jaggi 2022, "Byzantine-Robust Learning on Heterogeneous Datasets
 * via Bucketing", ICLR): shuffle the n inputs, average them in buckets of s, and hand the ⌈n/s⌉
 * bucket means to the robust aggregator. Averaging shrinks the spread between honest inputs that
 * non-IID data causes (by ~√s), so a robust rule that clips or trims by distance no longer
 * mistakes an honest outlier for an attacker; a δ fraction of attackers taints at most s·δ of the
 * buckets. The permutation comes from the caller's seeded generator (reproducible steps).
 */
import type { Rand } from '../../shared/data/rng';
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';
import { materialize, meanOf, settle, toCombination, type Combination } from './combination';

/** The shuffled order of 0..n−1 (Fisher–Yates). */
export function permutation(n: number, rand: Rand): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Groups of indices: consecutive runs of `s` in the permuted order (the last may be smaller). */
export function buckets(n: number, s: number, rand: Rand): number[][] {
  if (!(Number.isInteger(s) && s >= 1)) throw new RangeError(`bucket size must be an integer ≥ 1, got ${s}`);
  const p = permutation(n, rand);
  const out: number[][] = [];
  for (let i = 0; i < n; i += s) out.push(p.slice(i, i + s));
  return out;
}

/**
 * The mean of each bucket kept as its terms (combination.ts: centered clipping needs only its
 * distances and its sum, not its values), with the buckets (indices into `inputs`) they came from.
 */
export function bucketCombinations(specs: readonly WeightSpec[], inputs: ReadonlyArray<WeightMap | Combination>, s: number, rand: Rand): { means: Combination[]; groups: number[][] } {
  const groups = s <= 1 ? inputs.map((_, i) => [i]) : buckets(inputs.length, s, rand);
  return { means: groups.map((g) => settle(specs, meanOf(g.map((i) => toCombination(inputs[i]))))), groups };
}

/** The mean of each bucket, added up, with the buckets they came from. */
export function bucketMeans(specs: readonly WeightSpec[], inputs: readonly WeightMap[], s: number, rand: Rand): { means: WeightMap[]; groups: number[][] } {
  const { means, groups } = bucketCombinations(specs, inputs, s, rand);
  return { means: means.map((m) => materialize(specs, m)), groups };
}
