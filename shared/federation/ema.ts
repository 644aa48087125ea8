/**
 * The exponential moving average that maintains a momentum/target network, over name-keyed
 * Float32Arrays so the server (and any client that wants to) can run it without tfjs.
 *
 * BYOL (Grill et al. 2020), eq. 1:  ξ ← m·ξ + (1 − m)·θ.
 * BYOL §3.2 ramps m from m_base to 1 with a cosine schedule:
 *   m_k = 1 − (1 − m_base)·(cos(πk/K) + 1)/2,   k = current step, K = total steps.
 * BYOL writes the momentum τ; here it is m (as MoCo writes it), because on the server's path τ is
 * an update's staleness (server/aggregation/staleness.ts).
 * In Glimpse one "step" of this EMA is one server aggregation step (one model version).
 */
import type { MomentumPair } from '../ssl/method';
import type { WeightMap } from '../weights/weight-map';

export interface EmaSchedule {
  /** m_base, the momentum at step 0 (BYOL uses 0.996 per optimizer step; per server step 0.99 is a good default). */
  base: number;
  /** 'constant' keeps m = base; 'cosine' ramps it to 1 over `rampSteps` (BYOL §3.2). */
  kind: 'constant' | 'cosine';
  /** K of the cosine ramp, in server steps; after it m stays 1. */
  rampSteps?: number;
}

export const DEFAULT_EMA: EmaSchedule = { base: 0.99, kind: 'constant' };

/** The momentum m_k for server step k (0-based). */
export function emaMomentum(step: number, s: EmaSchedule): number {
  if (!(s.base >= 0 && s.base <= 1)) throw new RangeError(`EMA momentum must be in [0, 1], got ${s.base}`);
  if (s.kind === 'constant') return s.base;
  const K = s.rampSteps ?? 0;
  if (!(K > 0)) throw new RangeError('a cosine EMA schedule needs rampSteps > 0');
  const k = Math.min(Math.max(step, 0), K);
  return 1 - (1 - s.base) * (Math.cos((Math.PI * k) / K) + 1) / 2;
}

/**
 * ξ ← m·ξ + (1 − m)·θ for every declared pair, into a fresh map (inputs untouched). Target
 * weights without a pair are copied unchanged. Throws if a pair names a missing weight or the two
 * sides differ in size.
 */
export function emaUpdate(target: WeightMap, online: WeightMap, pairs: readonly MomentumPair[], m: number): WeightMap {
  const out: WeightMap = new Map();
  for (const [name, t] of target) out.set(name, { shape: [...t.shape], data: new Float32Array(t.data) });
  emaUpdateInPlace(out, online, pairs, m);
  return out;
}

/** In-place variant of {@link emaUpdate}: overwrites the arrays of `target`. */
export function emaUpdateInPlace(target: WeightMap, online: WeightMap, pairs: readonly MomentumPair[], m: number): void {
  const a = 1 - m;
  for (const p of pairs) {
    const t = target.get(p.target);
    const o = online.get(p.online);
    if (!t || !o) throw new Error(`EMA pair ${p.online} → ${p.target}: missing ${!o ? 'online' : 'target'} weight`);
    if (t.data.length !== o.data.length) throw new Error(`EMA pair ${p.online} → ${p.target}: sizes differ`);
    const td = t.data;
    const od = o.data;
    for (let i = 0; i < td.length; i++) td[i] = m * td[i] + a * od[i];
  }
}
