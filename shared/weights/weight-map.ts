/**
 * Name-keyed float tensors: the one weight format of Glimpse. The delta upload, the broadcast of
 * the global model and the encoder download all carry a WeightMap; aggregation never depends on
 * the order of entries, only on their names.
 */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
  /**
   * Sparse tensors only (see {@link sparseTensor}): the distinct positions outside of which every
   * value is 0 (ascending as decoded, in any order once summed), and their values. Kernels that know them work in O(nnz).
   */
  readonly nz?: Uint32Array;
  readonly values?: Float32Array;
}

export type SparseTensor = WeightTensor & { readonly nz: Uint32Array; readonly values: Float32Array };

export const isSparse = (t: WeightTensor): t is SparseTensor => t.nz !== undefined;

/**
 * A tensor that is 0 except at `nz` (distinct positions < the shape's size), where it holds
 * `values`. Why: a top-k update of the default model keeps 10% of its values, and the server
 * folds, clips and scores it from those alone instead of writing and reading 10× as many zeros.
 * `data` is the dense form, built on first read and kept (an own enumerable getter, so spreads
 * and structured clones see the values), so code that knows nothing of sparsity still works.
 * Like every delta, it is never mutated.
 */
export function sparseTensor(shape: readonly number[], nz: Uint32Array, values: Float32Array): SparseTensor {
  if (nz.length !== values.length) throw new RangeError(`sparse tensor: ${nz.length} positions but ${values.length} values`);
  const length = sizeOf(shape);
  let dense: Float32Array | null = null;
  const t = { shape: [...shape], nz, values } as SparseTensor;
  Object.defineProperty(t, 'data', {
    enumerable: true,
    get(): Float32Array {
      if (!dense) {
        dense = new Float32Array(length);
        for (let k = 0; k < nz.length; k++) dense[nz[k]] = values[k];
      }
      return dense;
    },
  });
  return t;
}

export type WeightMap = Map<string, WeightTensor>;

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Names and shapes only: what two maps must agree on to be combined. */
export interface WeightSpec {
  name: string;
  shape: number[];
}

export function specsOf(map: WeightMap): WeightSpec[] {
  return [...map].map(([name, t]) => ({ name, shape: [...t.shape] }));
}

/**
 * Throws unless `map` has exactly the names and shapes of `expected` (order ignored). The error
 * names the first few offending weights, so a client author can see what they sent wrong.
 */
export function assertSameSpecs(map: WeightMap, expected: readonly WeightSpec[], what = 'weights'): void {
  const problems: string[] = [];
  const want = new Map(expected.map((s) => [s.name, s.shape]));
  for (const [name, t] of map) {
    const shape = want.get(name);
    if (!shape) problems.push(`unexpected weight '${name}'`);
    else if (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))
      problems.push(`weight '${name}' has shape [${t.shape}] but the model has [${shape}]`);
  }
  for (const name of want.keys()) if (!map.has(name)) problems.push(`missing weight '${name}'`);
  if (problems.length) {
    const shown = problems.slice(0, 5).join('; ');
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    throw new WeightMismatchError(`${what} do not match the model: ${shown}${more}`);
  }
}

export class WeightMismatchError extends Error {
  override name = 'WeightMismatchError';
}

export function cloneWeights(map: WeightMap): WeightMap {
  const out: WeightMap = new Map();
  for (const [name, t] of map) out.set(name, { shape: [...t.shape], data: new Float32Array(t.data) });
  return out;
}

export function zerosLike(map: WeightMap): WeightMap {
  const out: WeightMap = new Map();
  for (const [name, t] of map) out.set(name, { shape: [...t.shape], data: new Float32Array(t.data.length) });
  return out;
}

/** `a − b` per name, for names of `a` (which `b` must all have). */
export function subtractWeights(a: WeightMap, b: WeightMap): WeightMap {
  const out: WeightMap = new Map();
  for (const [name, ta] of a) {
    const tb = b.get(name);
    if (!tb || tb.data.length !== ta.data.length) throw new WeightMismatchError(`cannot subtract: '${name}' differs`);
    const d = new Float32Array(ta.data.length);
    for (let i = 0; i < d.length; i++) d[i] = ta.data[i] - tb.data[i];
    out.set(name, { shape: [...ta.shape], data: d });
  }
  return out;
}

/** target += base, weight by weight, in place; returns the first name `base` lacks or mis-sizes (then stops), else null. */
export function addInto(target: WeightMap, base: WeightMap): string | null {
  for (const [name, t] of target) {
    const b = base.get(name);
    if (!b || b.data.length !== t.data.length) return name;
    for (let i = 0; i < t.data.length; i++) t.data[i] += b.data[i];
  }
  return null;
}
