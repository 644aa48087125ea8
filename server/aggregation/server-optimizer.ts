/**
 * Server optimizers applied to the aggregated delta Δ (a pseudo-gradient pointing downhill), from
 * Reddi et al. 2021, "Adaptive Federated Optimization", Algorithm 2, and Hsu et al. 2019 (FedAvgM):
 *
 *   fedavg   x ← x + η·Δ                                   (η = 1 is plain FedAvg)
 *   fedavgm  v ← β·v + Δ;            x ← x + η·v
 *   fedadam  m ← β1·m + (1−β1)·Δ;    v ← β2·v + (1−β2)·Δ²;    x ← x + η·m / (√v + ε)
 *
 * Pure: every call returns fresh maps, inputs are never written (the server swaps state in only
 * after the new checkpoint is durable). FedAdam follows the paper (no bias correction). The paper
 * calls ε the "degree of adaptivity" and writes it τ (1e-3 by default); here it is `epsilon`, as in
 * Adam, because τ names an update's staleness on the same path (staleness.ts).
 */
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';
import { zerosFromSpecs } from './fold';

export type ServerOptimizerConfig =
  | { kind: 'fedavg'; lr: number }
  | { kind: 'fedavgm'; lr: number; momentum: number }
  | { kind: 'fedadam'; lr: number; beta1: number; beta2: number; epsilon: number };

export const DEFAULT_SERVER_OPTIMIZER: ServerOptimizerConfig = { kind: 'fedavg', lr: 1 };

export interface ServerOptimizerState {
  /** Server steps taken. */
  step: number;
  /** Slot maps by slot name ('v' for momentum, 'm' and 'v' for Adam); keys are online weight names. */
  slots: Record<string, WeightMap>;
}

export function slotNames(c: ServerOptimizerConfig): string[] {
  return c.kind === 'fedavg' ? [] : c.kind === 'fedavgm' ? ['v'] : ['m', 'v'];
}

export function initServerOptimizer(c: ServerOptimizerConfig, specs: readonly WeightSpec[]): ServerOptimizerState {
  const slots: Record<string, WeightMap> = {};
  for (const s of slotNames(c)) slots[s] = zerosFromSpecs(specs);
  return { step: 0, slots };
}

/** One server step. Returns the new weights and optimizer state; `weights`, `delta`, `state` are untouched. */
export function serverStep(
  c: ServerOptimizerConfig,
  weights: WeightMap,
  delta: WeightMap,
  state: ServerOptimizerState,
): { weights: WeightMap; state: ServerOptimizerState } {
  const next: WeightMap = new Map();
  const slots: Record<string, WeightMap> = {};
  for (const s of slotNames(c)) slots[s] = new Map();
  for (const [name, w] of weights) {
    const d = delta.get(name);
    if (!d || d.data.length !== w.data.length) throw new Error(`server step: delta lacks '${name}' or differs in size`);
    const x = w.data;
    const g = d.data;
    const out = new Float32Array(x.length);
    const lr = c.lr;
    if (c.kind === 'fedavg') {
      for (let i = 0; i < x.length; i++) out[i] = x[i] + lr * g[i];
    } else if (c.kind === 'fedavgm') {
      const v0 = state.slots.v.get(name)!.data;
      const v = new Float32Array(x.length);
      const b = c.momentum;
      for (let i = 0; i < x.length; i++) {
        v[i] = b * v0[i] + g[i];
        out[i] = x[i] + lr * v[i];
      }
      slots.v.set(name, { shape: [...w.shape], data: v });
    } else {
      const m0 = state.slots.m.get(name)!.data;
      const v0 = state.slots.v.get(name)!.data;
      const m = new Float32Array(x.length);
      const v = new Float32Array(x.length);
      const { beta1, beta2, epsilon } = c;
      for (let i = 0; i < x.length; i++) {
        m[i] = beta1 * m0[i] + (1 - beta1) * g[i];
        v[i] = beta2 * v0[i] + (1 - beta2) * g[i] * g[i];
        out[i] = x[i] + (lr * m[i]) / (Math.sqrt(v[i]) + epsilon);
      }
      slots.m.set(name, { shape: [...w.shape], data: m });
      slots.v.set(name, { shape: [...w.shape], data: v });
    }
    next.set(name, { shape: [...w.shape], data: out });
  }
  return { weights: next, state: { step: state.step + 1, slots } };
}

/** Throws a readable error for an invalid config (used by the CLI and startServer). */
export function validateServerOptimizer(c: ServerOptimizerConfig): void {
  const bad = (msg: string) => { throw new RangeError(`server optimizer: ${msg}`); };
  if (!(c.lr > 0)) bad(`lr must be > 0, got ${c.lr}`);
  if (c.kind === 'fedavgm' && !(c.momentum >= 0 && c.momentum < 1)) bad(`momentum must be in [0, 1), got ${c.momentum}`);
  if (c.kind === 'fedadam') {
    if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1)) bad('beta1 and beta2 must be in [0, 1)');
    if (!(c.epsilon > 0)) bad(`epsilon must be > 0, got ${c.epsilon}`);
  }
  if (!['fedavg', 'fedavgm', 'fedadam'].includes(c.kind)) bad(`unknown kind '${(c as { kind: string }).kind}'`);
}
