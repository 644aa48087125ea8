/**
 * Per-contributor accountability of one server step: how each contributor's update (its updates
 * in the step, averaged) relates to what was applied.
 *
 *   cosine     ⟨x_c, g⟩ / (‖x_c‖·‖g‖)      direction against the aggregate g (0 when either is 0)
 *   normRatio  ‖x_c‖ / median_c' ‖x_c'‖    size against the step's typical contributor
 *   clipped    the robust rule or DP clipping shortened it
 *   outvoted   cosine < 0: it pulled against what the others agreed on
 *
 * A contributor that is outvoted in most of its steps, or clipped in nearly all while larger
 * than the rest, or far off the others' norm, is flagged for the operator (flagContributor).
 * Pure.
 */
import type { WeightMap } from '../../shared/weights/weight-map';
import { dotWith, dotMaps, normOf, toCombination, type Combination } from './combination';
import { l2NormOf } from './fold';
import { median } from './validate';

export interface ContributorScore {
  contributorId: string;
  cosine: number;
  normRatio: number;
  clipped: boolean;
  outvoted: boolean;
}

/** ⟨a, b⟩; a sparse tensor on either side costs O(its kept values). */
export const dot = dotMaps;

/** cos(a, b); pass the norms when they are known (scoring a step computes each once). */
export function cosine(a: WeightMap, b: WeightMap, na = l2NormOf(a), nb = l2NormOf(b)): number {
  return cosineOf(() => dot(a, b), na, nb);
}

/** ⟨a, b⟩ / (‖a‖·‖b‖), 0 when either norm is 0 (the dot is then not computed). */
const cosineOf = (dotOf: () => number, na: number, nb: number): number => (na > 0 && nb > 0 ? dotOf() / (na * nb) : 0);

/** Each x is a contributor's mean: a delta, or its updates kept as terms (combination.ts). */
export function scoreContributors(inputs: ReadonlyArray<{ contributorId: string; x: WeightMap | Combination }>, aggregate: WeightMap, clipped: readonly boolean[]): ContributorScore[] {
  const xs = inputs.map((i) => toCombination(i.x));
  const norms = xs.map(normOf);
  const med = median(norms);
  const ng = l2NormOf(aggregate);
  return inputs.map((inp, k) => {
    const cos = cosineOf(() => dotWith(xs[k], aggregate), norms[k], ng);
    return { contributorId: inp.contributorId, cosine: cos, normRatio: med > 0 ? norms[k] / med : 0, clipped: clipped[k] ?? false, outvoted: cos < 0 };
  });
}

/** A contributor's running record (store/accountability.ts keeps one per contributor). */
export interface ContributorRecord {
  steps: number;
  clipped: number;
  outvoted: number;
  /** Exponential moving averages (weight ¼ on the newest step). */
  cosine: number;
  normRatio: number;
}

const EMA = 0.25;

export function updateRecord(r: ContributorRecord | null, s: ContributorScore): ContributorRecord {
  if (!r) return { steps: 1, clipped: +s.clipped, outvoted: +s.outvoted, cosine: s.cosine, normRatio: s.normRatio };
  return {
    steps: r.steps + 1, clipped: r.clipped + +s.clipped, outvoted: r.outvoted + +s.outvoted,
    cosine: (1 - EMA) * r.cosine + EMA * s.cosine, normRatio: (1 - EMA) * r.normRatio + EMA * s.normRatio,
  };
}

/**
 * Why a contributor is flagged, or null. Needs ≥ 3 steps. Outvoted in more than half of them; or
 * clipped in at least 80% of them while larger than the typical contributor (centered clipping
 * with τ = the median distance clips about half of honest inputs by design, so clipping alone
 * says little); or a norm far off the others (×10 above, or below 1/20: tiny-norm poisoning,
 * free riders sending zeros).
 */
export function flagContributor(r: ContributorRecord): string | null {
  if (r.steps < 3) return null;
  if (r.outvoted > r.steps / 2) return `outvoted in ${r.outvoted} of ${r.steps} steps (mean cosine ${r.cosine.toFixed(2)})`;
  if (r.clipped >= 0.8 * r.steps && r.normRatio > 2) return `clipped in ${r.clipped} of ${r.steps} steps, norm ${r.normRatio.toPrecision(2)}× the step median`;
  if (r.normRatio > 10 || r.normRatio < 0.05) return `update norm ${r.normRatio.toPrecision(2)}× the step median`;
  return null;
}
