/**
 * The inner loop of aggregation: acc += a·x over Float32Arrays. Plain JS, unrolled by 4: fewer
 * loop-condition checks per element let V8 keep the loop memory-bound, and plain loops avoid the
 * tensor allocation and dispatch of tfjs ops. How close it comes to memory bandwidth is measured
 * by bench/aggregate.ts (figures in its report and the README's table).
 */
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';

/** acc[i] += a · x[i] for every i. `acc` and `x` must have the same length. */
export function axpy(acc: Float32Array, x: Float32Array, a: number): void {
  const n = acc.length;
  if (x.length !== n) throw new RangeError(`axpy: lengths differ (${n} vs ${x.length})`);
  const n4 = n - (n % 4);
  let i = 0;
  for (; i < n4; i += 4) {
    acc[i] += a * x[i];
    acc[i + 1] += a * x[i + 1];
    acc[i + 2] += a * x[i + 2];
    acc[i + 3] += a * x[i + 3];
  }
  for (; i < n; i++) acc[i] += a * x[i];
}

/** A zero-filled map with the given names and shapes. */
export function zerosFromSpecs(specs: readonly WeightSpec[]): WeightMap {
  const out: WeightMap = new Map();
  for (const s of specs) {
    let n = 1;
    for (const d of s.shape) n *= d;
    out.set(s.name, { shape: [...s.shape], data: new Float32Array(n) });
  }
  return out;
}

/**
 * acc[i] += a0·x0[i] + a1·x1[i] + a2·x2[i] + a3·x3[i]: four deltas per pass over the accumulator.
 * Per delta element that is 4 B read + ¼ of the accumulator's 8 B, instead of axpy's 12 B, and a
 * quarter of the stores, so four deltas cost about one pass of memory traffic instead of four
 * (bench/aggregate.ts compares it with four axpy calls).
 */
export function axpy4(
  acc: Float32Array, x0: Float32Array, x1: Float32Array, x2: Float32Array, x3: Float32Array,
  a0: number, a1: number, a2: number, a3: number,
): void {
  const n = acc.length;
  if (x0.length !== n || x1.length !== n || x2.length !== n || x3.length !== n) throw new RangeError('axpy4: lengths differ');
  for (let i = 0; i < n; i++) acc[i] += a0 * x0[i] + a1 * x1[i] + a2 * x2[i] + a3 * x3[i];
}

/** Σ_i w_i · Δ_i over name-keyed maps that all have the names of `specs`. */
export function weightedSum(specs: readonly WeightSpec[], terms: ReadonlyArray<{ delta: WeightMap; weight: number }>): WeightMap {
  const acc = zerosFromSpecs(specs);
  const live = terms.filter((t) => t.weight !== 0);
  for (const [name, t] of acc) {
    const xs = live.map(({ delta }) => {
      const d = delta.get(name);
      if (!d) throw new Error(`weightedSum: a term lacks '${name}'`);
      return d.data;
    });
    let k = 0;
    for (; k + 4 <= live.length; k += 4) {
      axpy4(t.data, xs[k], xs[k + 1], xs[k + 2], xs[k + 3], live[k].weight, live[k + 1].weight, live[k + 2].weight, live[k + 3].weight);
    }
    for (; k < live.length; k++) axpy(t.data, xs[k], live[k].weight);
  }
  return acc;
}

/** Global L2 norm (accumulated in float64). */
export function l2NormOf(map: WeightMap): number {
  let s = 0;
  for (const t of map.values()) {
    const d = t.data;
    let s0 = 0, s1 = 0;
    const n = d.length - (d.length % 2);
    let i = 0;
    for (; i < n; i += 2) {
      s0 += d[i] * d[i];
      s1 += d[i + 1] * d[i + 1];
    }
    for (; i < d.length; i++) s0 += d[i] * d[i];
    s += s0 + s1;
  }
  return Math.sqrt(s);
}

/** A copy of `map` scaled by `a`. */
export function scaled(map: WeightMap, a: number): WeightMap {
  const out: WeightMap = new Map();
  for (const [name, t] of map) {
    const d = new Float32Array(t.data.length);
    for (let i = 0; i < d.length; i++) d[i] = a * t.data[i];
    out.set(name, { shape: [...t.shape], data: d });
  }
  return out;
}
