/**
 * One FedBuff server step (Nguyen et al. 2022) as a pure function of the global state and the
 * buffered deltas:
 *
 *   Δ̄ = Σ_i w_i·Δ_i,   w_i = s(τ_i)·n_i / Σ_j n_j,   s(τ) = (1+τ)^(−a)      (staleness.ts)
 *   x_online ← ServerOpt(x_online, Δ̄)                                      (server-optimizer.ts)
 *   ξ_target ← m_k·ξ + (1 − m_k)·x_online    for the method's declared pairs (shared/federation/ema.ts)
 *
 * τ_i is measured when the delta is folded: the version being replaced minus the delta's base.
 * Nothing is mutated; the caller swaps the returned state in once it is durable.
 */
import { emaMomentum, emaUpdate, type EmaSchedule } from '../../shared/federation/ema';
import type { MomentumPair } from '../../shared/ssl/method';
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';
import { l2NormOf } from './fold';
import { weightedSumFast } from './fold-wasm';
import { serverStep, type ServerOptimizerConfig, type ServerOptimizerState } from './server-optimizer';
import { fedbuffWeights } from './staleness';

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
}

export function fedbuffStep(
  state: GlobalState,
  updates: readonly BufferedUpdate[],
  specs: readonly WeightSpec[],
  pairs: readonly MomentumPair[],
  c: FedBuffConfig,
  now = Date.now(),
): { state: GlobalState; summary: StepSummary } {
  if (updates.length === 0) throw new Error('fedbuffStep needs at least one update');
  const t0 = performance.now();
  const staleness = updates.map((u) => Math.max(0, state.version - u.baseVersion));
  const weights = fedbuffWeights(updates.map((u, i) => ({ examples: u.examples, staleness: staleness[i] })), c.stalenessExponent);
  const avg = weightedSumFast(specs, updates.map((u, i) => ({ delta: u.delta, weight: weights[i] })));
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
    weight: weights[i], examples: u.examples, loss: u.loss, norm: u.norm, clipped: u.clipped,
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
  };
  return { state: { version: state.version + 1, online, target, optimizer }, summary };
}
