/**
 * Lossy packings of one float32 tensor for the weight codec (codec.ts), and their inverse:
 *  - float16: IEEE half precision (float16.ts);
 *  - int8: symmetric linear quantization with one float32 scale per block of `block` values
 *    (scale = max|x| / 127 over the block, q = round(x / scale)); per-block rather than
 *    per-tensor scales keep one large value from flattening a whole tensor to zero;
 *  - sparse top-k: only the k largest-magnitude values and their positions, the rest zero
 *    (Aji & Heafield 2017, "Sparse Communication for Distributed Gradient Descent"), with the kept
 *    values in any of the dtypes above. On the wire the positions are uint32 indices or, where
 *    more than 1 in 32 values is kept, a bitmap of one bit per value (smaller from that density
 *    on: at 25% kept, 0.125 bytes per value instead of 1).
 * These are biased compressors; the client keeps what they drop and adds it to its next update
 * (error feedback, shared/federation/error-feedback.ts).
 */
import { floatsToHalves, halvesToFloats } from './float16';

export type Dtype = 'float32' | 'float16' | 'int8';
export const DTYPES: readonly Dtype[] = ['float32', 'float16', 'int8'];
export const DEFAULT_BLOCK = 256;

export interface PackOptions {
  dtype: Dtype;
  /** int8: values per scale (default 256). */
  block?: number;
  /** Fraction of values kept by magnitude (0 < topK ≤ 1); absent or 1 = dense. */
  topK?: number;
}

/** One tensor as the codec lays it out. */
export interface PackedTensor {
  shape: number[];
  /** Dense element count (product of shape). */
  length: number;
  dtype: Dtype;
  /** int8 only: values per scale. */
  block?: number;
  /** Sparse only: strictly increasing positions of the kept values. */
  indices?: Uint32Array;
  values: Float32Array | Uint16Array | Int8Array;
  /** int8 only: one scale per block of `values`. */
  scales?: Float32Array;
}

/** The positions of the k largest |x|, ascending (ties broken by position). */
export function topKIndices(x: Float32Array, k: number): Uint32Array {
  if (k >= x.length) return Uint32Array.from({ length: x.length }, (_, i) => i);
  if (k <= 0) return new Uint32Array(0);
  const mag = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) mag[i] = Math.abs(x[i]);
  const threshold = kthLargest(mag.slice(), k);
  const out = new Uint32Array(k);
  let n = 0;
  for (let i = 0; i < x.length && n < k; i++) if (mag[i] > threshold) out[n++] = i;
  for (let i = 0; i < x.length && n < k; i++) if (mag[i] === threshold) out[n++] = i;
  return out.sort();
}

/** Hoare quickselect: the k-th largest value of `a` (reorders `a`). */
function kthLargest(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  const want = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (want <= j) hi = j;
    else if (want >= i) lo = i;
    else return a[want];
  }
  return a[want];
}

export function quantizeInt8(x: Float32Array, block: number): { values: Int8Array; scales: Float32Array } {
  const values = new Int8Array(x.length);
  const scales = new Float32Array(Math.ceil(x.length / block));
  for (let b = 0; b < scales.length; b++) {
    const end = Math.min(x.length, (b + 1) * block);
    let max = 0;
    for (let i = b * block; i < end; i++) max = Math.max(max, Math.abs(x[i]));
    const scale = max / 127;
    scales[b] = scale;
    if (scale === 0 || !Number.isFinite(scale)) continue;
    for (let i = b * block; i < end; i++) values[i] = Math.round(x[i] / scale);
  }
  return { values, scales };
}

export function dequantizeInt8(values: Int8Array, scales: Float32Array, block: number, out: Float32Array = new Float32Array(values.length)): Float32Array {
  for (let b = 0; b < scales.length; b++) {
    const s = scales[b];
    const end = Math.min(values.length, (b + 1) * block);
    for (let i = b * block; i < end; i++) out[i] = values[i] * s;
  }
  return out;
}

/** Packs a dense tensor. */
export function packTensor(data: Float32Array, shape: number[], o: PackOptions): PackedTensor {
  const block = o.block ?? DEFAULT_BLOCK;
  let kept = data;
  let indices: Uint32Array | undefined;
  if (o.topK !== undefined && o.topK < 1) {
    indices = topKIndices(data, Math.max(1, Math.ceil(o.topK * data.length)));
    kept = new Float32Array(indices.length);
    for (let i = 0; i < indices.length; i++) kept[i] = data[indices[i]];
  }
  const base = { shape: [...shape], length: data.length, dtype: o.dtype, ...(indices ? { indices } : {}) };
  if (o.dtype === 'float32') return { ...base, values: kept };
  if (o.dtype === 'float16') return { ...base, values: floatsToHalves(kept) };
  return { ...base, block, ...quantizeInt8(kept, block) };
}

/**
 * The float32 values a packed tensor stores (the kept ones only, when it is sparse); written into
 * `out` when given (its length must be the kept count), else float32 values may be a view.
 */
export function keptValues(p: PackedTensor, out?: Float32Array): Float32Array {
  const n = p.indices ? p.indices.length : p.length;
  if (out && out.length !== n) throw new RangeError(`keptValues: out holds ${out.length} values, the tensor keeps ${n}`);
  let vals: Float32Array;
  if (p.dtype === 'float32') vals = out ? (out.set((p.values as Float32Array).subarray(0, n)), out) : (p.values as Float32Array);
  else if (p.dtype === 'float16') vals = halvesToFloats(p.values as Uint16Array, out);
  else vals = dequantizeInt8(p.values as Int8Array, p.scales!, p.block!, out);
  return vals.length === n ? vals : vals.subarray(0, n);
}

/** The dense float32 values a packed tensor stands for. */
export function unpackTensor(p: PackedTensor): Float32Array {
  const vals = keptValues(p);
  if (!p.indices) return vals;
  const dense = new Float32Array(p.length);
  for (let i = 0; i < vals.length; i++) dense[p.indices[i]] = vals[i];
  return dense;
}

/** How a sparse tensor's positions are written: uint32 indices, or one bit per value. */
export type Positions = 'indices' | 'bitmap';

/** The smaller way to write `count` positions among `length` values. */
export function smallerPositions(count: number, length: number): Positions {
  return bitmapWords(length) < count ? 'bitmap' : 'indices';
}

export const bitmapWords = (length: number) => Math.ceil(length / 32);

/** Bit i (bit i & 31 of little-endian uint32 word i >> 5) set for each kept position i. */
export function positionsToBitmap(indices: Uint32Array, length: number): Uint32Array {
  const words = new Uint32Array(bitmapWords(length));
  for (let i = 0; i < indices.length; i++) words[indices[i] >>> 5] |= 1 << (indices[i] & 31);
  return words;
}

/**
 * The ascending positions a bitmap sets, written into `out` (whose length must be the number of
 * set bits), or null when the bitmap sets a different number of bits or any bit at or past `length`.
 */
export function bitmapToPositions(words: Uint32Array, length: number, out: Uint32Array): Uint32Array | null {
  // No check per bit (the server decodes every upload's positions on its event loop): a store past
  // the end of a typed array is dropped, so a bitmap with too many bits is caught by the count, and
  // one with a bit at or past `length` by the last, largest position.
  let n = 0;
  for (let w = 0; w < words.length; w++) {
    let bits = words[w];
    const base = w << 5;
    while (bits !== 0) {
      out[n++] = base | (31 - Math.clz32(bits & -bits));
      bits &= bits - 1;
    }
  }
  return n === out.length && (n === 0 || out[n - 1] < length) ? out : null;
}

/** Bytes of one packed tensor in the codec's payload (without alignment padding). */
export function packedBytes(dtype: Dtype, count: number, block: number | undefined, positions: Positions | undefined, length = count): number {
  const idx = positions === 'bitmap' ? 4 * bitmapWords(length) : positions === 'indices' ? 4 * count : 0;
  if (dtype === 'float32') return idx + 4 * count;
  if (dtype === 'float16') return idx + 2 * count;
  return idx + 4 * Math.ceil(count / (block ?? DEFAULT_BLOCK)) + count;
}
