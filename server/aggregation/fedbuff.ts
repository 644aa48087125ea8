/**
 * One FedBuff server step (Nguyen et al. 2022) as a pure function of the global state and the
 * buffered deltas:
 *
 *   Δ̄ = Σ_i w_i·Δ_i,   w_i = s(τ_i)·n_i / Σ_j n_j,   s(τ) = (1+τ)^(−a)      (staleness.ts)
 *   x_online ← ServerOpt(x_online, Δ̄)                                      (server-optimizer.ts)
 *   ξ_target ← m_k·ξ + (1 − m_k)·x_online    for the method's declared pairs (shared/federation/ema.ts)
 *
 * τ_i is measured when the delta is folded: the version being replaced minus the delta's base.
 * With a robust rule or DP configured (issue 13), Δ̄ is robust.ts's combine instead: each
 * contributor counts once, claimed example counts do not weigh in. Updates of quarantined
 * contributors are folded with weight 0 (acknowledged and logged, never applied).
 * Nothing is mutated; the caller swaps the returned state in once it is durable.
 */
import { emaMomentum, emaUpdate, type EmaSchedule } from '../../shared/federation/ema';
import type { MomentumPair } from '../../shared/ssl/method';
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';
import type { Rand } from '../../shared/data/rng';
import type { ContributorScore } from './accountability';
import type { DpConfig } from './dp-fedavg';
import { l2NormOf, zerosFromSpecs } from './fold';
import { weightedSumFast } from './fold-wasm';
import { robustCombine, type RobustConfig } from './robust';
import { serverStep, type ServerOptimizerConfig, type ServerOptimizerState } from './server-optimizer';
import { fedbuffWeights, stalenessWeight } from './staleness';

export interface GlobalState {
  /** Number of server steps taken; version 0 is the initial model. */
  version: number;
  /** Online weights (names without prefix): what clients train and send deltas for. */
  online: WeightMap;
  /** Target/momentum weights (`target/…` names); empty for methods without one. */
  target: WeightMap;
  optimizer: ServerOptimizerState;
}

/** An accepted, validated delta waiting in the buffer. */
export interface BufferedUpdate {
  updateId: string;
  contributorId: string;
  baseVersion: number;
  examples: number;
  /** Mean local loss reported by the client (untrusted; history only). */
  loss: number | null;
  /** L2 norm as received (before any clipping). */
  norm: number;
  clipped: boolean;
  receivedAt: number;
  /** Online weight names → values (already clipped when `clipped`). */
  delta: WeightMap;
}

export interface FedBuffConfig {
  /** a in s(τ) = (1+τ)^(−a). */
  stalenessExponent: number;
  serverOptimizer: ServerOptimizerConfig;
  ema: EmaSchedule;
  /** Robust combine (robust.ts); absent or kind 'none' without DP = the example-weighted mean. */
  robust?: RobustConfig;
  /** Client-level DP (dp-fedavg.ts); absent or null = off. */
  dp?: DpConfig | null;
}

/** What a robust or private step needs besides the buffer (all optional for plain FedBuff). */
export interface StepContext {
  /** The previous step's robust aggregate (centered clipping's centre). */
  center?: WeightMap | null;
  /** Seeded stream for bucketing. */
  rand?: Rand;
  /** Standard normals for DP noise. */
  normal?: () => number;
  /** Contributors whose updates are folded with weight 0. */
  quarantined?: ReadonlySet<string>;
  /** DP's fixed denominator (the buffer size K). */
  denominator?: number;
}

export interface FoldedUpdate {
  updateId: string;
  contributorId: string;
  baseVersion: number;
  staleness: number;
  weight: number;
  examples: number;
  loss: number | null;
  norm: number;
  clipped: boolean;
  /** Its contributor was quarantined: folded with weight 0. */
  quarantined?: boolean;
}

export interface StepSummary {
  /** The version this step produced. */
  version: number;
  at: number;
  updates: FoldedUpdate[];
  contributors: number;
  examples: number;
  meanLoss: number | null;
  meanNorm: number;
  meanStaleness: number;
  maxStaleness: number;
  /** ‖Δ̄‖₂ of the averaged delta before the server optimizer. */
  aggregateNorm: number;
  emaMomentum: number | null;
  durationMs: number;
  /** The robust rule (or 'dp') that made Δ̄; absent for the plain weighted mean. */
  rule?: string;
  /** Centered clipping's radius, when used. */
  tau?: number | null;
  /** Per-contributor accountability (robust and DP steps). */
  scores?: ContributorScore[];
}

export function fedbuffStep(
  state: GlobalState,
  updates: readonly BufferedUpdate[],
  specs: readonly WeightSpec[],
  pairs: readonly MomentumPair[],
  c: FedBuffConfig,
  now = Date.now(),
  x: StepContext = {},
): { state: GlobalState; summary: StepSummary; center: WeightMap | null } {
  if (updates.length === 0) throw new Error('fedbuffStep needs at least one update');
  const t0 = performance.now();
  const staleness = updates.map((u) => Math.max(0, state.version - u.baseVersion));
  const out = (u: BufferedUpdate) => x.quarantined?.has(u.contributorId) ?? false;
  const kept = updates.map((u, i) => ({ u, i })).filter(({ u }) => !out(u));
  const robustOn = (c.robust && c.robust.kind !== 'none') || !!c.dp;
  const weights = updates.map(() => 0);
  let avg: WeightMap;
  let center: WeightMap | null = null;
  let extra: Pick<StepSummary, 'rule' | 'tau' | 'scores'> = {};
  if (kept.length === 0) {
    avg = zerosFromSpecs(specs);
  } else if (robustOn) {
    // DP without noise would claim a guarantee it does not give: the caller must pass the source.
    if (c.dp && !x.normal) throw new Error('fedbuffStep with DP needs a noise source (StepContext.normal)');
    const sw = kept.map(({ i }) => stalenessWeight(staleness[i], c.stalenessExponent));
    const r = robustCombine(specs, kept.map(({ u }, k) => ({ contributorId: u.contributorId, delta: u.delta, staleWeight: sw[k] })), {
      robust: c.robust ?? { kind: 'none', bucketSize: 1, trim: 0, iterations: 1, tau: null, center: 'zero' }, dp: c.dp ?? null,
      denominator: x.denominator ?? kept.length, center: x.center ?? null, rand: x.rand ?? (() => 0.5), normal: x.normal ?? (() => 0),
    });
    avg = r.applied;
    center = r.center;
    // The nominal weight of each update: 1/contributors, split among its contributor's updates, × s(τ).
    const per = new Map<string, number>();
    for (const { u } of kept) per.set(u.contributorId, (per.get(u.contributorId) ?? 0) + 1);
    kept.forEach(({ u, i }, k) => (weights[i] = sw[k] / (per.size * per.get(u.contributorId)!)));
    extra = { rule: c.dp ? `dp${c.robust?.kind === 'centered-clip' ? '+centered-clip' : ''}` : c.robust!.kind, tau: r.tau, scores: r.scores };
  } else {
    const w = fedbuffWeights(kept.map(({ u, i }) => ({ examples: u.examples, staleness: staleness[i] })), c.stalenessExponent);
    kept.forEach(({ i }, k) => (weights[i] = w[k]));
    avg = weightedSumFast(specs, kept.map(({ u }, k) => ({ delta: u.delta, weight: w[k] })));
  }
  const { weights: online, state: optimizer } = serverStep(c.serverOptimizer, state.online, avg, state.optimizer);
  let target = state.target;
  let m: number | null = null;
  if (pairs.length > 0) {
    m = emaMomentum(state.version, c.ema);
    target = emaUpdate(state.target, online, pairs, m);
  }
  const losses = updates.map((u) => u.loss).filter((l): l is number => l !== null && Number.isFinite(l));
  const folded: FoldedUpdate[] = updates.map((u, i) => ({
    updateId: u.updateId, contributorId: u.contributorId, baseVersion: u.baseVersion, staleness: staleness[i],
    weight: weights[i], examples: u.examples, loss: u.loss, norm: u.norm, clipped: u.clipped, ...(out(u) ? { quarantined: true } : {}),
  }));
  const summary: StepSummary = {
    version: state.version + 1,
    at: now,
    updates: folded,
    contributors: new Set(updates.map((u) => u.contributorId)).size,
    examples: updates.reduce((s, u) => s + u.examples, 0),
    meanLoss: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : null,
    meanNorm: updates.reduce((s, u) => s + u.norm, 0) / updates.length,
    meanStaleness: staleness.reduce((a, b) => a + b, 0) / staleness.length,
    maxStaleness: Math.max(...staleness),
    aggregateNorm: l2NormOf(avg),
    emaMomentum: m,
    durationMs: performance.now() - t0,
    ...extra,
  };
  return { state: { version: state.version + 1, online, target, optimizer }, summary, center };
}
