/**
 * The Glimpse weight codec: one binary format for name-keyed float tensors, used for the delta
 * upload, the broadcast of the global model and the encoder download. Tensors are float32 or, for
 * compressed updates and downloads (pack.ts), float16, int8 with per-block scales, and sparse
 * (top-k indices); decoding always yields dense float32.
 *
 * Layout (all integers little-endian; documented for other-language clients in docs/protocol.md):
 *
 *   offset  size  field
 *   0       4     magic "GLWT"
 *   4       2     format version (1 when every tensor is dense float32, else 2)
 *   6       2     flags (0; reserved)
 *   8       4     header length H in bytes
 *   12      4     CRC-32 of the header bytes
 *   16      4     payload length P in bytes
 *   20      4     CRC-32 of the payload bytes
 *   24      H     header: UTF-8 JSON {"tensors":[{"name","shape","dtype","offset","length"[,"block"][,"nnz"]}],"meta":{}}
 *   …       0–7   zero padding so the payload starts at a multiple of 8
 *   …       P     payload: the tensors' sections in header order, each starting at the next
 *                 multiple of 4 (zero padding), the last one padded to a multiple of 4 too
 *
 * `offset` is in bytes from the payload start, `length` in elements (dense). A tensor's section:
 *   [uint32 indices × nnz, strictly increasing, < length]     only when "nnz" is present (sparse)
 *   then the n = nnz ?? length values:
 *     float32: n × 4 bytes;  float16: n × 2 bytes (IEEE binary16);
 *     int8:    ⌈n / block⌉ float32 scales, then n int8 (value = q × scale of its block)
 * Dense float32 files are byte-identical to format 1. The payload is aligned so a receiver can view
 * dense float32 in place instead of copying: a copy is one more pass over megabytes per delta, on
 * the server's event loop. The other dtypes are read through typed views where aligned and turned
 * into float32 in one pass.
 */
import { crc32 } from './crc32';
import { DTYPES, keptValues, packTensor, packedBytes, unpackTensor, type Dtype, type PackOptions, type PackedTensor } from './pack';
import { assertSameSpecs, sizeOf, sparseTensor, type WeightMap, type WeightSpec } from './weight-map';

export const CODEC_MAGIC = 'GLWT';
/** The newest format version this build writes and reads (1: dense float32 only). */
export const CODEC_VERSION = 2;
/** Largest int8 block: scales are per block, and a block must be a sane number of values. */
const MAX_BLOCK = 1 << 20;
const MAGIC_BYTES = new TextEncoder().encode(CODEC_MAGIC);
const PREFIX_BYTES = 24;
/** Headers are small (names and shapes); anything bigger is garbage or an attack. */
const MAX_HEADER_BYTES = 4 * 1024 * 1024;

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
  /** Sparse: how many values are stored (with their indices). */
  nnz?: number;
}

export type CodecMeta = Record<string, string | number | boolean | null>;

export interface EncodeOptions {
  meta?: CodecMeta;
  /** Lossy packing of every tensor (default: dense float32, lossless). */
  pack?: PackOptions;
  /** The CRC-32 to write (same polynomial as ./crc32.ts), e.g. zlib's native one on Node: see DecodeOptions.crc32. */
  crc32?: (bytes: Uint8Array) => number;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('Glimpse weight codec needs a little-endian platform');
}

const align8 = (n: number) => (n + 7) & ~7;
const align4 = (n: number) => (n + 3) & ~3;

/** Encodes a WeightMap into one contiguous buffer (see the layout above), packed as `options.pack` says. */
export function encodeWeights(weights: WeightMap, options: EncodeOptions = {}): Uint8Array {
  const packed = new Map<string, PackedTensor>();
  for (const [name, t] of weights) {
    const length = sizeOf(t.shape);
    if (length !== t.data.length) {
      throw new WeightCodecError(`weight '${name}' has ${t.data.length} values but shape [${t.shape}] needs ${length}`);
    }
    packed.set(name, options.pack ? packTensor(t.data, t.shape, options.pack) : { shape: t.shape, length, dtype: 'float32', values: t.data });
  }
  return encodePacked(packed, options.meta, options.crc32);
}

/** Encodes already packed tensors (pack.ts; the client packs once and keeps the error for feedback). */
export function encodePacked(tensors: ReadonlyMap<string, PackedTensor>, meta: CodecMeta = {}, checksum: (bytes: Uint8Array) => number = crc32): Uint8Array {
  const entries: TensorEntry[] = [];
  let offset = 0;
  let plain = true;
  for (const [name, t] of tensors) {
    offset = align4(offset);
    const n = t.indices ? t.indices.length : t.length;
    const e: TensorEntry = { name, shape: [...t.shape], dtype: t.dtype, offset, length: t.length };
    if (t.dtype === 'int8') e.block = t.block;
    if (t.indices) e.nnz = n;
    plain &&= t.dtype === 'float32' && !t.indices;
    entries.push(e);
    offset += packedBytes(t.dtype, n, t.block, !!t.indices);
  }
  offset = align4(offset);
  const header = new TextEncoder().encode(JSON.stringify({ tensors: entries, meta }));
  const payloadStart = align8(PREFIX_BYTES + header.length);
  const out = new Uint8Array(payloadStart + offset);
  const view = new DataView(out.buffer);
  out.set(MAGIC_BYTES, 0);
  view.setUint16(4, plain ? 1 : CODEC_VERSION, true);
  view.setUint16(6, 0, true);
  view.setUint32(8, header.length, true);
  view.setUint32(12, checksum(header), true);
  view.setUint32(16, offset, true);
  out.set(header, PREFIX_BYTES);
  for (const e of entries) {
    const t = tensors.get(e.name)!;
    let at = payloadStart + e.offset;
    const put = (a: ArrayBufferView) => {
      out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
      at += a.byteLength;
    };
    if (t.indices) put(t.indices);
    if (t.scales) put(t.scales);
    put(t.values);
  }
  view.setUint32(20, checksum(out.subarray(payloadStart)), true);
  return out;
}

export interface DecodeOptions {
  /** When given, the decoded names and shapes must equal these exactly (order ignored). */
  expected?: readonly WeightSpec[];
  /** Copy values out of `bytes` instead of viewing them in place (views need 4-byte alignment). */
  copy?: boolean;
  /**
   * The CRC-32 to verify with (same polynomial as ./crc32.ts), e.g. zlib's native one on Node,
   * where the checksum of a multi-megabyte payload is the largest cost of accepting a delta.
   */
  crc32?: (bytes: Uint8Array) => number;
  /**
   * Sparse (top-k) tensors stay sparse (weight-map.ts sparseTensor: dense only when read as
   * such), e.g. on the server, which folds them in O(kept values).
   */
  sparse?: boolean;
  /**
   * Decode into one SharedArrayBuffer (every tensor's float32 values, and a sparse tensor's
   * positions, carved from it) instead of fresh arrays or views of `bytes`. The server decodes
   * uploads so: its fold worker then reads them where they are, instead of the event loop copying
   * every buffered delta across the thread boundary when a step starts.
   */
  shared?: boolean | SharedAlloc;
}

/** Where a shared decode puts its values: `bytes` (a multiple of 4) at `offset` of `buffer`. */
export type SharedAlloc = (bytes: number) => { buffer: SharedArrayBuffer; offset: number };

export interface Decoded {
  weights: WeightMap;
  meta: CodecMeta;
}

/** Decodes and validates a buffer made by {@link encodeWeights}; throws WeightCodecError naming the problem. */
export function decodeWeights(bytes: Uint8Array, options: DecodeOptions = {}): Decoded {
  if (!(bytes instanceof Uint8Array)) throw new WeightCodecError('weights must be binary (Uint8Array/Buffer)');
  if (bytes.length < PREFIX_BYTES) throw new WeightCodecError(`truncated: ${bytes.length} bytes is shorter than the ${PREFIX_BYTES}-byte prefix`);
  if (MAGIC_BYTES.some((b, i) => bytes[i] !== b)) {
    throw new WeightCodecError(`not Glimpse weights: bad magic (expected "${CODEC_MAGIC}")`);
  }
  const checksum = options.crc32 ?? crc32;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  if (version !== 1 && version !== CODEC_VERSION) throw new WeightCodecError(`unsupported weight format version ${version} (this build reads ${CODEC_VERSION})`);
  const headerLength = view.getUint32(8, true);
  const headerCrc = view.getUint32(12, true);
  const payloadLength = view.getUint32(16, true);
  const payloadCrc = view.getUint32(20, true);
  if (headerLength > MAX_HEADER_BYTES) throw new WeightCodecError(`header length ${headerLength} exceeds ${MAX_HEADER_BYTES} bytes`);
  const payloadStart = align8(PREFIX_BYTES + headerLength);
  const expectedTotal = payloadStart + payloadLength;
  if (bytes.length < expectedTotal) throw new WeightCodecError(`truncated: ${bytes.length} bytes, the header declares ${expectedTotal}`);
  if (bytes.length > expectedTotal) throw new WeightCodecError(`${bytes.length - expectedTotal} trailing bytes after the payload`);
  const header = bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength);
  if (checksum(header) !== headerCrc) throw new WeightCodecError('header checksum mismatch (corrupted header)');
  const payload = bytes.subarray(payloadStart);
  if (checksum(payload) !== payloadCrc) {
    throw new WeightCodecError('payload checksum mismatch (corrupted weights)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(header));
  } catch (e) {
    throw new WeightCodecError(`header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  const tensors = validateHeader(parsed, payloadLength, version);
  const meta = ((parsed as { meta?: unknown }).meta ?? {}) as CodecMeta;

  const aligned = (bytes.byteOffset + payloadStart) % 4 === 0;
  const weights: WeightMap = new Map();
  const sparseKept = (e: TensorEntry) => e.nnz !== undefined && !!options.sparse;
  if (options.shared) {
    // Sizes were validated against the payload above, so the arena is bounded by ~2× its bytes.
    const size = tensors.reduce((n, e) => n + (sparseKept(e) ? 8 * e.nnz! : 4 * e.length), 0);
    const { buffer: arena, offset } = options.shared === true ? { buffer: new SharedArrayBuffer(size), offset: 0 } : options.shared(size);
    let at = offset;
    const carve = <T extends Float32Array | Uint32Array>(make: new (b: SharedArrayBuffer, o: number, n: number) => T, n: number): T => {
      const a = new make(arena, at, n);
      at += 4 * n;
      return a;
    };
    for (const e of tensors) {
      const p = sectionOf(bytes, payloadStart + e.offset, e, aligned);
      if (sparseKept(e)) {
        const nz = carve(Uint32Array, e.nnz!);
        nz.set(p.indices!);
        weights.set(e.name, sparseTensor(e.shape, nz, keptValues(p, carve(Float32Array, e.nnz!))));
      } else {
        const data = carve(Float32Array, e.length);
        if (p.indices) data.set(unpackTensor(p));
        else keptValues(p, data);
        weights.set(e.name, { shape: e.shape, data });
      }
    }
    if (options.expected) assertSameSpecs(weights, options.expected);
    return { weights, meta };
  }
  for (const e of tensors) {
    let data: Float32Array;
    if (sparseKept(e)) {
      const p = sectionOf(bytes, payloadStart + e.offset, e, aligned);
      weights.set(e.name, sparseTensor(e.shape, p.indices!, keptValues(p)));
      continue;
    } else if (e.dtype !== 'float32' || e.nnz !== undefined) {
      data = unpackTensor(sectionOf(bytes, payloadStart + e.offset, e, aligned));
    } else if (aligned && !options.copy) {
      data = new Float32Array(bytes.buffer, bytes.byteOffset + payloadStart + e.offset, e.length);
    } else {
      // Copy byte-wise into a fresh array (not `bytes.slice`: on a Node Buffer that is a view
      // into a shared pool, not a copy).
      data = new Float32Array(e.length);
      const from = payloadStart + e.offset;
      new Uint8Array(data.buffer).set(bytes.subarray(from, from + e.length * 4));
    }
    weights.set(e.name, { shape: e.shape, data });
  }
  if (options.expected) assertSameSpecs(weights, options.expected);
  return { weights, meta };
}

/**
 * Typed views of one packed section (copied to fresh memory when misaligned), checking that sparse
 * indices are strictly increasing and in range, so unpacking can trust them.
 */
function sectionOf(bytes: Uint8Array, start: number, e: TensorEntry, aligned: boolean): PackedTensor {
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
  if (e.nnz !== undefined) {
    const idx = take((b, o, l) => new Uint32Array(b, o, l), n, 4);
    for (let i = 0; i < idx.length; i++) {
      if (idx[i] >= e.length || (i > 0 && idx[i] <= idx[i - 1])) {
        throw new WeightCodecError(`tensor '${e.name}' has sparse index ${idx[i]} at #${i}: indices must increase strictly and stay below ${e.length}`);
      }
    }
    p.indices = idx;
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

function validateHeader(parsed: unknown, payloadLength: number, version: number): TensorEntry[] {
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
    expectedOffset = align4(expectedOffset);
    if (e.offset !== expectedOffset) throw new WeightCodecError(`tensor '${e.name}' offset ${e.offset} is not ${expectedOffset} (tensors must be contiguous, in order)`);
    expectedOffset += packedBytes(e.dtype as Dtype, e.nnz ?? e.length, e.block, e.nnz !== undefined);
    if (expectedOffset > payloadLength) throw new WeightCodecError(`tensor '${e.name}' ends past the payload (${payloadLength} bytes)`);
  });
  expectedOffset = align4(expectedOffset);
  if (expectedOffset !== payloadLength) {
    throw new WeightCodecError(`tensors cover ${expectedOffset} bytes but the payload has ${payloadLength}`);
  }
  return entries as TensorEntry[];
}
