/**
 * A weighted sum Σ w_t·x_t of deltas kept as its terms instead of added up into a new map. The
 * robust combine averages a contributor's updates, then buckets of contributors (robust.ts,
 * bucketing.ts), and centered clipping only needs three things of each such mean: its distance
 * from the centre, its norm and its sum into the aggregate.
 *
 *   acc += a·c = Σ_t (a·w_t)·x_t               each term from its kept values
 *   ‖c − v‖², ‖c‖²                             per tensor: scatter-add the terms into a zeroed
 *                                              scratch, then read each term's positions back,
 *                                              zeroing as it reads — a position kept by several
 *                                              terms is counted once (its later reads see 0)
 *   ⟨c, v⟩ = Σ_t w_t ⟨x_t, v⟩
 *
 * Adding top-k deltas into a sparse mean instead (fold.ts sparseSum) visits the union of their
 * positions through a mark per position — a branch per value and new arrays per tensor — and was
 * the largest cost of a robust step with the default sparse upload (bench:aggregate's fold-worker
 * profile). Here every pass is branch-free and allocates nothing. Pure; a delta is never mutated.
 */
import { isSparse, sizeOf, type SparseTensor, type WeightMap, type WeightSpec } from '../../shared/weights/weight-map';
import { axpyTensor, l2NormOf, weightedSum } from './fold';

export interface Term {
  readonly x: WeightMap;
  readonly w: number;
}

/** Σ w_t·x_t, unevaluated. */
export interface Combination {
  readonly terms: readonly Term[];
}

export const single = (x: WeightMap): Combination => ({ terms: [{ x, w: 1 }] });

export const toCombination = (x: WeightMap | Combination): Combination => (x instanceof Map ? single(x) : x);

/** The mean of combinations, flattened to one list of terms. */
export function meanOf(cs: readonly Combination[]): Combination {
  if (cs.length === 1) return cs[0];
  const k = 1 / cs.length;
  return { terms: cs.flatMap((c) => c.terms.map((t) => ({ x: t.x, w: k * t.w }))) };
}

/**
 * `c`, or its sum when its terms are mostly dense: a dense sum costs one streaming pass, and then
 * every distance, norm and dot reads one map instead of each term (float32 uploads measured 2×
 * slower kept as terms). Sparse terms stay terms.
 */
export function settle(specs: readonly WeightSpec[], c: Combination): Combination {
  if (c.terms.length === 1) return c;
  const mostlyDense = c.terms.some(({ x }) => {
    let dense = 0, all = 0;
    for (const t of x.values()) {
      const n = sizeOf(t.shape);
      all += n;
      if (!isSparse(t)) dense += n;
    }
    return dense * 2 > all;
  });
  return mostlyDense ? single(sumOf(specs, c)) : c;
}

/** The sum as a new WeightMap. */
export function sumOf(specs: readonly WeightSpec[], c: Combination): WeightMap {
  return weightedSum(specs, c.terms.map((t) => ({ delta: t.x, weight: t.w })));
}

/** The sum as a WeightMap (a single term of weight 1 is returned as it is). */
export function materialize(specs: readonly WeightSpec[], c: Combination): WeightMap {
  return c.terms.length === 1 && c.terms[0].w === 1 ? c.terms[0].x : sumOf(specs, c);
}

/** Zeroed scratch of the sums and sparse·sparse products, reused across calls (zero between them). */
let scratch = new Float32Array(0);

/** The scratch, at least `length` long. */
function scratchOf(length: number): Float32Array {
  if (scratch.length < length) scratch = new Float32Array(length);
  return scratch;
}

/** ⟨c, v⟩ (a sparse tensor costs its kept values, combination or v). */
export function dotWith(c: Combination, v: WeightMap): number {
  let s = 0;
  for (const t of c.terms) if (t.w !== 0) s += t.w * dotMaps(t.x, v);
  return s;
}

/** ‖c‖; a single term's is its l2NormOf, to the bit. */
export function normOf(c: Combination): number {
  if (c.terms.length === 1) return Math.abs(c.terms[0].w) * l2NormOf(c.terms[0].x);
  return Math.sqrt(Math.max(0, squaredNorm(c)));
}

/** ‖c‖². */
export function squaredNorm(c: Combination): number {
  return squaredDistance(c, null);
}

/**
 * ‖c − v‖² (v = null: zero). A tensor whose terms are all sparse costs O(their kept values):
 * ‖v‖² + Σ over kept positions j of ((c_j − v_j)² − v_j²), with ‖v‖² from `vSquares` (per name);
 * one with a dense term costs its length.
 */
export function squaredDistance(c: Combination, v: WeightMap | null, vSquares?: ReadonlyMap<string, number>): number {
  return keepingScratchZero(() => sumOfSquares(c, v, vSquares));
}

/** Runs `f`; if it throws midway (a term that lacks a tensor), the scratch is zeroed again first. */
function keepingScratchZero<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    scratch.fill(0);
    throw e;
  }
}

function sumOfSquares(c: Combination, v: WeightMap | null, vSquares?: ReadonlyMap<string, number>): number {
  const ts = c.terms.filter((t) => t.w !== 0);
  if (ts.length === 0) return v ? [...(vSquares ?? squaresOf(v)).values()].reduce((a, b) => a + b, 0) : 0;
  let s = 0;
  for (const [name, first] of ts[0].x) {
    const length = sizeOf(first.shape);
    const acc = scratchOf(length);
    const vt = v ? v.get(name)!.data : null;
    let allSparse = true;
    for (const { x, w } of ts) {
      const t = x.get(name)!;
      if (isSparse(t)) {
        const { nz, values } = t;
        for (let k = 0; k < nz.length; k++) acc[nz[k]] += w * values[k];
      } else {
        allSparse = false;
        const d = t.data;
        for (let j = 0; j < length; j++) acc[j] += w * d[j];
      }
    }
    if (!allSparse) {
      // Two partial sums: the adds do not wait on each other.
      let s0 = 0, s1 = 0, j = 0;
      for (; j + 1 < length; j += 2) {
        const e0 = vt ? acc[j] - vt[j] : acc[j], e1 = vt ? acc[j + 1] - vt[j + 1] : acc[j + 1];
        s0 += e0 * e0;
        s1 += e1 * e1;
        acc[j] = 0;
        acc[j + 1] = 0;
      }
      for (; j < length; j++) {
        const e = vt ? acc[j] - vt[j] : acc[j];
        s0 += e * e;
        acc[j] = 0;
      }
      s += s0 + s1;
      continue;
    }
    let s0 = vt ? (vSquares?.get(name) ?? squareOf(vt)) : 0;
    for (const { x } of ts) {
      const { nz } = x.get(name) as SparseTensor;
      if (vt) {
        for (let k = 0; k < nz.length; k++) {
          const j = nz[k], b = vt[j], e = acc[j] - b;
          s0 += e * e - b * b; // 0 where an earlier term's read cleared it
          acc[j] = 0;
        }
      } else {
        for (let k = 0; k < nz.length; k++) {
          const m = acc[nz[k]];
          s0 += m * m;
          acc[nz[k]] = 0;
        }
      }
    }
    s += s0;
  }
  return s;
}

/** ‖v‖² per tensor. */
export function squaresOf(v: WeightMap): Map<string, number> {
  return new Map([...v].map(([name, t]) => [name, squareOf(t.data)]));
}

function squareOf(d: Float32Array): number {
  let s = 0;
  for (let j = 0; j < d.length; j++) s += d[j] * d[j];
  return s;
}

/** acc += a·c, per tensor of `acc` (dense). */
export function addScaled(acc: WeightMap, c: Combination, a: number): void {
  for (const [name, t] of acc) for (const term of c.terms) if (term.w !== 0) axpyTensor(t.data, term.x.get(name)!, a * term.w);
}

/** ⟨a, b⟩ over a's names; a sparse tensor on either side costs O(its kept values). */
export function dotMaps(a: WeightMap, b: WeightMap): number {
  let s = 0;
  for (const [name, ta] of a) {
    const tb = b.get(name);
    if (!tb) throw new Error(`dotMaps: the second map lacks '${name}'`);
    if (isSparse(ta) && isSparse(tb)) s += keepingScratchZero(() => sparseDot(ta, tb));
    else if (isSparse(ta)) s += gatherDot(ta, tb.data);
    else if (isSparse(tb)) s += gatherDot(tb, ta.data);
    else s += denseDot(ta.data, tb.data);
  }
  return s;
}

/** Σ x[j]·y[j]; four partial sums, so the adds do not wait on each other (1.1 → 0.65 ms for 640k). */
function denseDot(x: Float32Array, y: Float32Array): number {
  const n = x.length, n4 = n - (n % 4);
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, j = 0;
  for (; j < n4; j += 4) {
    s0 += x[j] * y[j];
    s1 += x[j + 1] * y[j + 1];
    s2 += x[j + 2] * y[j + 2];
    s3 += x[j + 3] * y[j + 3];
  }
  for (; j < n; j++) s0 += x[j] * y[j];
  return s0 + s1 + s2 + s3;
}

/** Σ values[k]·dense[nz[k]]; four partial sums, so the adds do not wait on each other. */
function gatherDot(t: SparseTensor, dense: Float32Array): number {
  const { nz, values } = t;
  const n = nz.length, n4 = n - (n % 4);
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0;
  for (; k < n4; k += 4) {
    s0 += values[k] * dense[nz[k]];
    s1 += values[k + 1] * dense[nz[k + 1]];
    s2 += values[k + 2] * dense[nz[k + 2]];
    s3 += values[k + 3] * dense[nz[k + 3]];
  }
  for (; k < n; k++) s0 += values[k] * dense[nz[k]];
  return s0 + s1 + s2 + s3;
}

/** Scatter the smaller one, gather with the other, clear: no branch per position. */
function sparseDot(a: SparseTensor, b: SparseTensor): number {
  const [small, large] = a.nz.length <= b.nz.length ? [a, b] : [b, a];
  const buf = scratchOf(sizeOf(a.shape));
  const { nz, values } = small;
  for (let k = 0; k < nz.length; k++) buf[nz[k]] = values[k];
  const s = gatherDot(large, buf);
  for (let k = 0; k < nz.length; k++) buf[nz[k]] = 0;
  return s;
}
