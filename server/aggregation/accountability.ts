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
import { isSparse, type WeightMap } from '../../shared/weights/weight-map';
import { l2NormOf } from './fold';
import { median } from './validate';

export interface ContributorScore {
  contributorId: string;
  cosine: number;
  normRatio: number;
  clipped: boolean;
  outvoted: boolean;
}

/** ⟨a, b⟩; a's sparse tensors cost O(kept values). */
export function dot(a: WeightMap, b: WeightMap): number {
  let s = 0;
  for (const [name, t] of a) {
    const u = b.get(name)!.data;
    if (isSparse(t)) {
      const { nz, values } = t;
      for (let k = 0; k < nz.length; k++) s += values[k] * u[nz[k]];
      continue;
    }
    for (let j = 0; j < t.data.length; j++) s += t.data[j] * u[j];
  }
  return s;
}

/** cos(a, b); pass the norms when they are known (scoring a step computes each once). */
export function cosine(a: WeightMap, b: WeightMap, na = l2NormOf(a), nb = l2NormOf(b)): number {
  return na > 0 && nb > 0 ? dot(a, b) / (na * nb) : 0;
}

export function scoreContributors(inputs: ReadonlyArray<{ contributorId: string; x: WeightMap }>, aggregate: WeightMap, clipped: readonly boolean[]): ContributorScore[] {
  const norms = inputs.map((i) => l2NormOf(i.x));
  const med = median(norms);
  const ng = l2NormOf(aggregate);
  return inputs.map((inp, k) => {
    const cos = cosine(inp.x, aggregate, norms[k], ng);
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
