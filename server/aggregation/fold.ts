/**
 * The inner loop of aggregation: acc += a·x over Float32Arrays. Plain JS, unrolled by 4: fewer
 * loop-condition checks per element let V8 keep the loop memory-bound, and plain loops avoid the
 * tensor allocation and dispatch of tfjs ops. How close it comes to memory bandwidth is measured
 * by bench/aggregate.ts (figures in its report and the README's table).
 */
import { isSparse, sparseTensor, type SparseTensor, type WeightMap, type WeightSpec, type WeightTensor } from '../../shared/weights/weight-map';

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

/** acc += a·t, over t's kept values only when t is sparse (weight-map.ts sparseTensor). */
export function axpyTensor(acc: Float32Array, t: WeightTensor, a: number): void {
  if (!isSparse(t)) return axpy(acc, t.data, a);
  const { nz, values } = t;
  for (let k = 0; k < nz.length; k++) acc[nz[k]] += a * values[k];
}

/** Scratch of sparseSum, reused across calls (zero between them): a value and a mark per position. */
let scratch = { values: new Float32Array(0), marks: new Uint8Array(0) };

/**
 * Σ w_i·t_i of sparse tensors as a sparse tensor over the union of their positions, in
 * O(Σ kept values) through a zeroed scratch the size of the tensor: a bucket of two top-10%
 * updates stays a fifth of the dense size. Positions come out in first-seen order, not sorted.
 */
function sparseSum(shape: readonly number[], ts: readonly SparseTensor[], ws: readonly number[]): SparseTensor {
  const length = shape.reduce((a, b) => a * b, 1);
  if (scratch.values.length < length) scratch = { values: new Float32Array(length), marks: new Uint8Array(length) };
  const acc = scratch.values;
  const marks = scratch.marks;
  const union = new Uint32Array(ts.reduce((n, t) => n + t.nz.length, 0));
  let count = 0;
  for (let i = 0; i < ts.length; i++) {
    // Locals, not property reads in the loop: sparse tensors carry an accessor (dictionary mode).
    const w = ws[i], nz = ts[i].nz, v = ts[i].values;
    for (let k = 0; k < nz.length; k++) {
      const j = nz[k];
      if (marks[j] === 0) {
        marks[j] = 1;
        union[count++] = j;
      }
      acc[j] += w * v[k];
    }
  }
  const values = new Float32Array(count);
  for (let c = 0; c < count; c++) {
    const j = union[c];
    values[c] = acc[j];
    acc[j] = 0;
    marks[j] = 0;
  }
  return sparseTensor(shape, union.subarray(0, count), values);
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

/**
 * Σ_i w_i · Δ_i over name-keyed maps that all have the names of `specs`. Sparse terms are added
 * from their kept values; when every term of a tensor is sparse and together they keep under a
 * quarter of it, the sum stays sparse too.
 */
export function weightedSum(specs: readonly WeightSpec[], terms: ReadonlyArray<{ delta: WeightMap; weight: number }>): WeightMap {
  const acc: WeightMap = new Map();
  const live = terms.filter((t) => t.weight !== 0);
  for (const s of specs) {
    const ts = live.map(({ delta }) => {
      const d = delta.get(s.name);
      if (!d) throw new Error(`weightedSum: a term lacks '${s.name}'`);
      return d;
    });
    const length = s.shape.reduce((a, b) => a * b, 1);
    if (ts.length && ts.every(isSparse) && ts.reduce((n, t) => n + t.nz.length, 0) < length / 4) {
      acc.set(s.name, sparseSum(s.shape, ts, live.map((t) => t.weight)));
      continue;
    }
    const out = new Float32Array(length);
    acc.set(s.name, { shape: [...s.shape], data: out });
    const dense = live.map((t, i) => ({ x: ts[i], w: t.weight })).filter(({ x }) => !isSparse(x));
    let k = 0;
    for (; k + 4 <= dense.length; k += 4) {
      axpy4(out, dense[k].x.data, dense[k + 1].x.data, dense[k + 2].x.data, dense[k + 3].x.data, dense[k].w, dense[k + 1].w, dense[k + 2].w, dense[k + 3].w);
    }
    for (; k < dense.length; k++) axpy(out, dense[k].x.data, dense[k].w);
    ts.forEach((t, i) => isSparse(t) && axpyTensor(out, t, live[i].weight));
  }
  return acc;
}

/** Global L2 norm (accumulated in float64). */
export function l2NormOf(map: WeightMap): number {
  let s = 0;
  for (const t of map.values()) {
    const d = isSparse(t) ? t.values : t.data;
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

/** A copy of `map` scaled by `a` (sparse tensors stay sparse). */
export function scaled(map: WeightMap, a: number): WeightMap {
  const out: WeightMap = new Map();
  for (const [name, t] of map) {
    const src = isSparse(t) ? t.values : t.data;
    const d = new Float32Array(src.length);
    for (let i = 0; i < d.length; i++) d[i] = a * src[i];
    out.set(name, isSparse(t) ? sparseTensor(t.shape, t.nz, d) : { shape: [...t.shape], data: d });
  }
  return out;
}
