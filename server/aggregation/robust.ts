/**
 * The robust combine of a FedBuff buffer (issue 13): what replaces the example-weighted mean when
 * contributors may be hostile. Steps:
 *
 *   1. each contributor counts once: its updates in the buffer are averaged into x_c
 *      (quarantined contributors are left out by the caller);
 *   2. a robust rule over the x_c — centered clipping with bucketing (centered-clip.ts,
 *      bucketing.ts), coordinate-wise trimmed mean or median (coordinate-wise.ts) — or, with DP,
 *      DP-FedAvg's clip-sum-noise (dp-fedavg.ts), around the previous aggregate when the rule is
 *      centered clipping (the centre is public: the last noisy aggregate);
 *   3. the result g is scaled by the mean staleness weight s̄ of the updates (FedBuff's
 *      down-weighting of stale work, without letting claimed example counts weigh in).
 *
 * Returns g·s̄ (applied), g itself (the next step's centre) and per-contributor scores
 * (accountability.ts).
 */
import type { Rand } from '../../shared/data/rng';
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';
import { scoreContributors, type ContributorScore } from './accountability';
import { bucketCombinations } from './bucketing';
import { materialize, meanOf, settle, single, sumOf, type Combination } from './combination';
import { centeredClip } from './centered-clip';
import { coordinateMedian, trimmedMean } from './coordinate-wise';
import { dpAggregate, type DpConfig } from './dp-fedavg';
import { scaled, weightedSum } from './fold';

export const ROBUST_KINDS = ['none', 'centered-clip', 'trimmed-mean', 'median'] as const;
export type RobustKind = (typeof ROBUST_KINDS)[number];

export interface RobustConfig {
  kind: RobustKind;
  /** Bucket size s for centered clipping (1 = no bucketing). */
  bucketSize: number;
  /** β of the trimmed mean. */
  trim: number;
  /** Centered-clipping iterations. */
  iterations: number;
  /** Centered-clipping radius; null = median distance from the centre. */
  tau: number | null;
  /**
   * Centered clipping's centre: the previous step's aggregate (the paper's momentum centre) or
   * zero (then it is clipping each input to the median norm, and averaging).
   */
  center: 'previous' | 'zero';
}

export const DEFAULT_ROBUST: RobustConfig = { kind: 'centered-clip', bucketSize: 2, trim: 0.2, iterations: 1, tau: null, center: 'previous' };

export interface RobustInput {
  contributorId: string;
  delta: WeightMap;
  /** s(τ) of this update. */
  staleWeight: number;
}

export interface RobustOptions {
  robust: RobustConfig;
  dp: DpConfig | null;
  /** DP's fixed denominator (the buffer size K). */
  denominator: number;
  /** The previous step's g (centered clipping's centre); null = zero. */
  center: WeightMap | null;
  /** Bucketing's permutation. */
  rand: Rand;
  /** Standard normals for DP noise. */
  normal: () => number;
}

export interface RobustResult {
  applied: WeightMap;
  center: WeightMap;
  scores: ContributorScore[];
  /** The centered-clipping radius used, when it was. */
  tau: number | null;
}

/**
 * Step 1: one mean per contributor (kept as its terms, combination.ts), ordered by contributor id:
 * the result (bucketing's seeded permutation included) does not depend on the order in which
 * updates arrived.
 */
export function contributorMeans(specs: readonly WeightSpec[], inputs: ReadonlyArray<{ contributorId: string; delta: WeightMap }>): Array<{ contributorId: string; x: Combination }> {
  const groups = new Map<string, WeightMap[]>();
  for (const u of inputs) groups.set(u.contributorId, [...(groups.get(u.contributorId) ?? []), u.delta]);
  return [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([contributorId, ds]) => ({ contributorId, x: settle(specs, meanOf(ds.map(single))) }));
}

/** Step 1 with each contributor's mean added up. */
export function perContributor(specs: readonly WeightSpec[], inputs: ReadonlyArray<{ contributorId: string; delta: WeightMap }>): Array<{ contributorId: string; x: WeightMap }> {
  return contributorMeans(specs, inputs).map(({ contributorId, x }) => ({ contributorId, x: materialize(specs, x) }));
}

export function robustCombine(specs: readonly WeightSpec[], inputs: readonly RobustInput[], o: RobustOptions): RobustResult {
  if (inputs.length === 0) throw new Error('robustCombine needs at least one update');
  const xs = contributorMeans(specs, inputs);
  // The rules other than centered clipping read coordinates: only they add the means up.
  let added: WeightMap[] | null = null;
  const maps = () => (added ??= xs.map((c) => materialize(specs, c.x)));
  const sBar = inputs.reduce((s, u) => s + u.staleWeight, 0) / inputs.length;
  let g: WeightMap;
  let clipped: boolean[] = xs.map(() => false);
  let tau: number | null = null;
  const kind = o.robust.kind;
  const center = o.robust.center === 'zero' ? null : o.center;
  if (o.dp) {
    const centred = kind === 'centered-clip' && center !== null;
    const diffs = centred ? maps().map((x) => weightedSum(specs, [{ delta: x, weight: 1 }, { delta: center, weight: -1 }])) : maps();
    const r = dpAggregate(specs, diffs, o.dp, Math.max(o.denominator, xs.length), o.normal);
    g = centred ? weightedSum(specs, [{ delta: center, weight: 1 }, { delta: r.aggregate, weight: 1 }]) : r.aggregate;
    clipped = r.clipped;
  } else if (kind === 'centered-clip') {
    const { means, groups } = bucketCombinations(specs, xs.map((c) => c.x), o.robust.bucketSize, o.rand);
    const r = centeredClip(specs, means, center, { tau: o.robust.tau, iterations: o.robust.iterations });
    g = r.aggregate;
    tau = r.tau;
    groups.forEach((members, b) => {
      for (const i of members) clipped[i] = r.clipped[b];
    });
  } else if (kind === 'trimmed-mean') {
    g = trimmedMean(specs, maps(), o.robust.trim);
  } else if (kind === 'median') {
    g = coordinateMedian(specs, maps());
  } else {
    // Always a fresh map: g becomes the next step's centre, and a delta's memory is reused.
    g = sumOf(specs, meanOf(xs.map((c) => c.x)));
  }
  return { applied: sBar === 1 ? g : scaled(g, sBar), center: g, scores: scoreContributors(xs, g, clipped), tau };
}
