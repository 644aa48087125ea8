/**
 * The per-tensor half of the GLWT layout (codec.ts has the whole of it): the header's tensor
 * entries and their validation, section sizes and alignment, and typed views of one tensor's
 * section. Split from codec.ts so the framing (prefix, checksums, encode and decode) reads on its own.
 */
import {
  bitmapToPositions, bitmapWords, DTYPES, packedBytes, type Dtype, type PackedTensor,
} from './pack';
import { sizeOf } from './weight-map';

/** Largest int8 block: scales are per block, and a block must be a sane number of values. */
const MAX_BLOCK = 1 << 20;

export class WeightCodecError extends Error {
  override name = 'WeightCodecError';
}

export interface TensorEntry {
  name: string;
  shape: number[];
  dtype: Dtype;
  offset: number;
  length: number;
  /** int8: values per scale. */
  block?: number;
  /** Sparse: how many values are stored (with their positions). */
  nnz?: number;
  /** Sparse, format 3: the positions are a bitmap (absent: uint32 indices). */
  positions?: 'bitmap';
}

export const align8 = (n: number) => (n + 7) & ~7;
export const align4 = (n: number) => (n + 3) & ~3;

/**
 * Typed views of one packed section (copied to fresh memory when misaligned), checking that sparse
 * indices are strictly increasing and in range, so unpacking can trust them. With `positionsOut`
 * (nnz long) a sparse tensor's positions are written there instead of to fresh memory.
 */
export function sectionOf(bytes: Uint8Array, start: number, e: TensorEntry, aligned: boolean, positionsOut?: Uint32Array): PackedTensor {
  const n = e.nnz ?? e.length;
  let at = start;
  const take = <T>(make: (b: ArrayBuffer, off: number, len: number) => T, count: number, width: number): T => {
    const byteLen = count * width;
    const src = bytes.subarray(at, at + byteLen);
    at += byteLen;
    if (aligned) return make(bytes.buffer as ArrayBuffer, bytes.byteOffset + at - byteLen, count);
    const copy = new Uint8Array(byteLen);
    copy.set(src);
    return make(copy.buffer, 0, count);
  };
  const p: PackedTensor = { shape: e.shape, length: e.length, dtype: e.dtype, values: new Float32Array(0) };
  if (e.positions === 'bitmap') {
    const words = take((b, o, l) => new Uint32Array(b, o, l), bitmapWords(e.length), 4);
    const idx = bitmapToPositions(words, e.length, positionsOut ?? new Uint32Array(n));
    if (!idx) throw new WeightCodecError(`tensor '${e.name}' has a position bitmap that does not set exactly nnz = ${n} bits below ${e.length}`);
    p.indices = idx;
  } else if (e.nnz !== undefined) {
    const idx = take((b, o, l) => new Uint32Array(b, o, l), n, 4);
    for (let i = 0; i < idx.length; i++) {
      if (idx[i] >= e.length || (i > 0 && idx[i] <= idx[i - 1])) {
        throw new WeightCodecError(`tensor '${e.name}' has sparse index ${idx[i]} at #${i}: indices must increase strictly and stay below ${e.length}`);
      }
    }
    p.indices = positionsOut ? (positionsOut.set(idx), positionsOut) : idx;
  }
  if (e.dtype === 'int8') {
    p.block = e.block;
    p.scales = take((b, o, l) => new Float32Array(b, o, l), Math.ceil(n / e.block!), 4);
    p.values = take((b, o, l) => new Int8Array(b, o, l), n, 1);
  } else if (e.dtype === 'float16') {
    p.values = take((b, o, l) => new Uint16Array(b, o, l), n, 2);
  } else {
    p.values = take((b, o, l) => new Float32Array(b, o, l), n, 4);
  }
  return p;
}

export function validateHeader(parsed: unknown, payloadLength: number, version: number): TensorEntry[] {
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { tensors?: unknown }).tensors)) {
    throw new WeightCodecError('header has no "tensors" list');
  }
  const meta = (parsed as { meta?: unknown }).meta;
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) {
    throw new WeightCodecError('header "meta" must be an object');
  }
  const entries = (parsed as { tensors: unknown[] }).tensors;
  const seen = new Set<string>();
  let expectedOffset = 0;
  entries.forEach((raw, i) => {
    const e = raw as Partial<TensorEntry>;
    const where = `tensor #${i}`;
    if (typeof e !== 'object' || e === null) throw new WeightCodecError(`${where} is not an object`);
    if (typeof e.name !== 'string' || e.name.length === 0 || e.name.length > 256) throw new WeightCodecError(`${where} has no valid name`);
    if (seen.has(e.name)) throw new WeightCodecError(`duplicate tensor name '${e.name}'`);
    seen.add(e.name);
    const dtypes: readonly string[] = version === 1 ? ['float32'] : DTYPES;
    if (!dtypes.includes(e.dtype as string)) {
      throw new WeightCodecError(`tensor '${e.name}' has dtype ${String(e.dtype)}; format ${version} supports ${dtypes.join(', ')}`);
    }
    if (!Array.isArray(e.shape) || e.shape.length > 8 || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new WeightCodecError(`tensor '${e.name}' has an invalid shape`);
    }
    if (e.length !== sizeOf(e.shape)) throw new WeightCodecError(`tensor '${e.name}' length ${e.length} does not match shape [${e.shape}]`);
    if (e.dtype === 'int8' && !(Number.isSafeInteger(e.block) && e.block! >= 1 && e.block! <= MAX_BLOCK)) {
      throw new WeightCodecError(`tensor '${e.name}' is int8 without a valid block (1..${MAX_BLOCK})`);
    }
    if (e.dtype !== 'int8' && e.block !== undefined) throw new WeightCodecError(`tensor '${e.name}' has a block but is ${e.dtype}`);
    if (e.nnz !== undefined && (version === 1 || !Number.isSafeInteger(e.nnz) || e.nnz < 0 || e.nnz > e.length)) {
      throw new WeightCodecError(`tensor '${e.name}' has an invalid nnz (0..${e.length})`);
    }
    if (e.positions !== undefined && (version < 3 || e.positions !== 'bitmap' || e.nnz === undefined)) {
      throw new WeightCodecError(`tensor '${e.name}' has positions ${JSON.stringify(e.positions)}; only a sparse tensor in format 3 may have "bitmap"`);
    }
    expectedOffset = align4(expectedOffset);
    if (e.offset !== expectedOffset) throw new WeightCodecError(`tensor '${e.name}' offset ${e.offset} is not ${expectedOffset} (tensors must be contiguous, in order)`);
    const positions = e.nnz === undefined ? undefined : e.positions ?? 'indices';
    expectedOffset += packedBytes(e.dtype as Dtype, e.nnz ?? e.length, e.block, positions, e.length!);
    if (expectedOffset > payloadLength) throw new WeightCodecError(`tensor '${e.name}' ends past the payload (${payloadLength} bytes)`);
  });
  expectedOffset = align4(expectedOffset);
  if (expectedOffset !== payloadLength) {
    throw new WeightCodecError(`tensors cover ${expectedOffset} bytes but the payload has ${payloadLength}`);
  }
  return entries as TensorEntry[];
}
