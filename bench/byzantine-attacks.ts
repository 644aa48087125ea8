/**
 * The attacks of bench:byzantine, as pure functions of what the attackers know. They are
 * omniscient and collude (the strongest usual threat model): they see this round's honest
 * deltas. Each returns the delta one attacker submits.
 *
 *   sign-flip   −Δ_h: a copied honest delta, reversed
 *   scale       100·Δ_h: a copied honest delta, ×100 (model replacement, Bagdasaryan et al. 2020)
 *   alie        μ − z·σ per coordinate over the honest deltas, z from the number of
 *               contributors (A Little Is Enough, Baruch, Baruch & Goldberg 2019)
 *   tiny        ±1e-9 everywhere: drags norm statistics down (issue 13, failure 1)
 *   gaussian    N(0, (3·rms(Δ_h))²) per coordinate: noise ~3× an honest delta's size
 *   zeros       a free rider: nothing learned, examples claimed
 *   replay      a free rider: its first-round copied delta, resubmitted every round
 */
import type { Rand } from '../shared/data/rng';
import type { WeightMap } from '../shared/weights/weight-map';

export const ATTACKS = ['clean', 'sign-flip', 'scale', 'alie', 'tiny', 'gaussian', 'zeros', 'replay'] as const;
export type Attack = (typeof ATTACKS)[number];

function mapOf(like: WeightMap, f: (name: string, i: number) => number): WeightMap {
  const out: WeightMap = new Map();
  for (const [name, t] of like) {
    const d = new Float32Array(t.data.length);
    for (let i = 0; i < d.length; i++) d[i] = f(name, i);
    out.set(name, { shape: [...t.shape], data: d });
  }
  return out;
}

/** Φ⁻¹(p) by bisection on the error function's series-free approximation (Abramowitz & Stegun 7.1.26). */
export function normalQuantile(p: number): number {
  const cdf = (x: number) => {
    const t = 1 / (1 + 0.3275911 * Math.abs(x) / Math.SQRT2);
    const erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-(x * x) / 2);
    return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
  };
  let lo = -10, hi = 10;
  for (let k = 0; k < 100; k++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** ALIE's z for n contributors of which f attack: s = ⌊n/2 + 1⌋ − f, z = Φ⁻¹((n − s)/n). */
export function alieZ(n: number, f: number): number {
  const s = Math.floor(n / 2 + 1) - f;
  return normalQuantile((n - s) / n);
}

export interface AttackContext {
  honest: readonly WeightMap[];
  /** Contributors in all (honest + attackers). */
  n: number;
  attackers: number;
  /** Index of this attacker (which honest delta it copies). */
  index: number;
  /** Its first-round delta (for replay). */
  first: WeightMap | null;
  rand: Rand;
}

export function attackDelta(a: Exclude<Attack, 'clean'>, c: AttackContext): WeightMap {
  const h = c.honest[c.index % c.honest.length];
  switch (a) {
    case 'sign-flip':
      return mapOf(h, (n, i) => -h.get(n)!.data[i]);
    case 'scale':
      return mapOf(h, (n, i) => 100 * h.get(n)!.data[i]);
    case 'alie': {
      const z = alieZ(c.n, c.attackers);
      return mapOf(h, (n, i) => {
        let s = 0, s2 = 0;
        for (const d of c.honest) {
          const x = d.get(n)!.data[i];
          s += x;
          s2 += x * x;
        }
        const mu = s / c.honest.length;
        return mu - z * Math.sqrt(Math.max(0, s2 / c.honest.length - mu * mu));
      });
    }
    case 'tiny':
      return mapOf(h, () => (c.rand() < 0.5 ? -1e-9 : 1e-9));
    case 'gaussian': {
      let s2 = 0, k = 0;
      for (const t of h.values()) for (const x of t.data) (s2 += x * x), k++;
      const std = 3 * Math.sqrt(s2 / k);
      return mapOf(h, () => std * Math.sqrt(-2 * Math.log(1 - c.rand())) * Math.cos(2 * Math.PI * c.rand()));
    }
    case 'zeros':
      return mapOf(h, () => 0);
    case 'replay':
      return c.first ?? h;
  }
}
