/**
 * The Glimpse weight codec: one binary format for name-keyed float tensors, used for the delta
 * upload, the broadcast of the global model and the encoder download. Tensors are float32 or, for
 * compressed updates and downloads (pack.ts), float16, int8 with per-block scales, and sparse
 * (top-k positions as indices or a bitmap); decoding yields float32 (dense unless asked otherwise).
 *
 * Layout (all integers little-endian; documented for other-language clients in docs/protocol.md):
 *
 *   offset  size  field
 *   0       4     magic "GLWT"
 *   4       2     format version (1 when every tensor is dense float32; 3 when a sparse tensor's
 *                 positions are a bitmap; else 2)
 *   6       2     flags (0; reserved)
 *   8       4     header length H in bytes
 *   12      4     CRC-32 of the header bytes
 *   16      4     payload length P in bytes
 *   20      4     CRC-32 of the payload bytes
 *   24      H     header: UTF-8 JSON {"tensors":[{"name","shape","dtype","offset","length"[,"block"][,"nnz"[,"positions"]]}],"meta":{}}
 *   …       0–7   zero padding so the payload starts at a multiple of 8
 *   …       P     payload: the tensors' sections in header order, each starting at the next
 *                 multiple of 4 (zero padding), the last one padded to a multiple of 4 too
 *
 * `offset` is in bytes from the payload start, `length` in elements (dense). A tensor's section:
 *   [uint32 indices × nnz, strictly increasing, < length]     only when "nnz" is present (sparse)
 *   or, when "positions" is "bitmap" (format 3):
 *   [uint32 words × ⌈length / 32⌉, bit i & 31 of word i >> 5 set for each kept i; nnz bits set]
 *   then the n = nnz ?? length values:
 *     float32: n × 4 bytes;  float16: n × 2 bytes (IEEE binary16);
 *     int8:    ⌈n / block⌉ float32 scales, then n int8 (value = q × scale of its block)
 * Dense float32 files are byte-identical to format 1. The payload is aligned so a receiver can view
 * dense float32 in place instead of copying: a copy is one more pass over megabytes per delta, on
 * the server's event loop. The other dtypes are read through typed views where aligned and turned
 * into float32 in one pass.
 */
import { crc32 } from './crc32';
import { align4, align8, sectionOf, validateHeader, WeightCodecError, type TensorEntry } from './codec-layout';
import { keptValues, packTensor, packedBytes, positionsToBitmap, smallerPositions, unpackTensor, type PackOptions, type PackedTensor, type Positions } from './pack';
import { assertSameSpecs, sizeOf, sparseTensor, type WeightMap, type WeightSpec } from './weight-map';

export { WeightCodecError, type TensorEntry } from './codec-layout';

export const CODEC_MAGIC = 'GLWT';
/** The newest format version this build writes and reads (1: dense float32 only; 2: packed; 3: bitmap positions). */
export const CODEC_VERSION = 3;
const MAGIC_BYTES = new TextEncoder().encode(CODEC_MAGIC);
const PREFIX_BYTES = 24;
/** Headers are small (names and shapes); anything bigger is garbage or an attack. */
const MAX_HEADER_BYTES = 4 * 1024 * 1024;

export type CodecMeta = Record<string, string | number | boolean | null>;

export interface EncodeOptions {
  meta?: CodecMeta;
  /** Lossy packing of every tensor (default: dense float32, lossless). */
  pack?: PackOptions;
  /** The CRC-32 to write (same polynomial as ./crc32.ts), e.g. zlib's native one on Node: see DecodeOptions.crc32. */
  crc32?: (bytes: Uint8Array) => number;
  /**
   * Write a sparse tensor's positions as a bitmap where that is smaller (format 3). Only for a
   * receiver that reads format 3: a server says so in plan.compression.positions.
   */
  bitmaps?: boolean;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('Glimpse weight codec needs a little-endian platform');
}

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
  return encodePacked(packed, options.meta, options);
}

/** Encodes already packed tensors (pack.ts; the client packs once and keeps the error for feedback). */
export function encodePacked(tensors: ReadonlyMap<string, PackedTensor>, meta: CodecMeta = {}, options: Pick<EncodeOptions, 'crc32' | 'bitmaps'> = {}): Uint8Array {
  const checksum = options.crc32 ?? crc32;
  const entries: TensorEntry[] = [];
  let offset = 0;
  let plain = true;
  let bitmaps = false;
  for (const [name, t] of tensors) {
    offset = align4(offset);
    const n = t.indices ? t.indices.length : t.length;
    const e: TensorEntry = { name, shape: [...t.shape], dtype: t.dtype, offset, length: t.length };
    if (t.dtype === 'int8') e.block = t.block;
    let positions: Positions | undefined;
    if (t.indices) {
      e.nnz = n;
      positions = options.bitmaps ? smallerPositions(n, t.length) : 'indices';
      if (positions === 'bitmap') e.positions = 'bitmap';
    }
    plain &&= t.dtype === 'float32' && !t.indices;
    bitmaps ||= positions === 'bitmap';
    entries.push(e);
    offset += packedBytes(t.dtype, n, t.block, positions, t.length);
  }
  offset = align4(offset);
  const header = new TextEncoder().encode(JSON.stringify({ tensors: entries, meta }));
  const payloadStart = align8(PREFIX_BYTES + header.length);
  const out = new Uint8Array(payloadStart + offset);
  const view = new DataView(out.buffer);
  out.set(MAGIC_BYTES, 0);
  view.setUint16(4, plain ? 1 : bitmaps ? 3 : 2, true);
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
    if (t.indices) put(e.positions === 'bitmap' ? positionsToBitmap(t.indices, t.length) : t.indices);
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
  if (version < 1 || version > CODEC_VERSION) throw new WeightCodecError(`unsupported weight format version ${version} (this build reads 1 to ${CODEC_VERSION})`);
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
    // Sizes were validated against the payload above, so the arena is at most 8× its bytes (8 per
    // kept value of an int8 tensor with bitmap positions, 1 + 1/8 bytes each on the wire); past
    // decoding, a delta of the model's shapes (assertSameSpecs) keeps at most 8 bytes per weight.
    const size = tensors.reduce((n, e) => n + (sparseKept(e) ? 8 * e.nnz! : 4 * e.length), 0);
    const { buffer: arena, offset } = options.shared === true ? { buffer: new SharedArrayBuffer(size), offset: 0 } : options.shared(size);
    let at = offset;
    const carve = <T extends Float32Array | Uint32Array>(make: new (b: SharedArrayBuffer, o: number, n: number) => T, n: number): T => {
      const a = new make(arena, at, n);
      at += 4 * n;
      return a;
    };
    for (const e of tensors) {
      if (sparseKept(e)) {
        // The positions are decoded (or checked and copied) straight into the arena.
        const nz = carve(Uint32Array, e.nnz!);
        const p = sectionOf(bytes, payloadStart + e.offset, e, aligned, nz);
        weights.set(e.name, sparseTensor(e.shape, nz, keptValues(p, carve(Float32Array, e.nnz!))));
      } else {
        const p = sectionOf(bytes, payloadStart + e.offset, e, aligned);
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
