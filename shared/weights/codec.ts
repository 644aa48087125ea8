/**
 * The Glimpse weight codec: one binary format for name-keyed float32 tensors, used for the delta
 * upload, the broadcast of the global model and the encoder download.
 *
 * Layout (all integers little-endian; documented for other-language clients in docs/protocol.md):
 *
 *   offset  size  field
 *   0       4     magic "GLWT"
 *   4       2     format version (1)
 *   6       2     flags (0; reserved)
 *   8       4     header length H in bytes
 *   12      4     CRC-32 of the header bytes
 *   16      4     payload length P in bytes
 *   20      4     CRC-32 of the payload bytes
 *   24      H     header: UTF-8 JSON {"tensors":[{"name","shape","dtype":"float32","offset","length"}],"meta":{}}
 *   …       0–7   zero padding so the payload starts at a multiple of 8
 *   …       P     payload: the tensors' float32 values, back to back in header order
 *
 * `offset` is in bytes from the payload start, `length` in elements. The payload is aligned so a
 * receiver can view it as Float32Array in place instead of copying: a copy is one more pass over
 * megabytes per delta, on the server's event loop.
 */
import { crc32 } from './crc32';
import { assertSameSpecs, sizeOf, type WeightMap, type WeightSpec } from './weight-map';

export const CODEC_MAGIC = 'GLWT';
export const CODEC_VERSION = 1;
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
  dtype: 'float32';
  offset: number;
  length: number;
}

export type CodecMeta = Record<string, string | number | boolean | null>;

export interface EncodeOptions {
  meta?: CodecMeta;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('Glimpse weight codec needs a little-endian platform');
}

const align8 = (n: number) => (n + 7) & ~7;

/** Encodes a WeightMap into one contiguous buffer (see the layout above). */
export function encodeWeights(weights: WeightMap, options: EncodeOptions = {}): Uint8Array {
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of weights) {
    const length = sizeOf(t.shape);
    if (length !== t.data.length) {
      throw new WeightCodecError(`weight '${name}' has ${t.data.length} values but shape [${t.shape}] needs ${length}`);
    }
    tensors.push({ name, shape: [...t.shape], dtype: 'float32', offset, length });
    offset += length * 4;
  }
  const header = new TextEncoder().encode(JSON.stringify({ tensors, meta: options.meta ?? {} }));
  const payloadStart = align8(PREFIX_BYTES + header.length);
  const out = new Uint8Array(payloadStart + offset);
  const view = new DataView(out.buffer);
  out.set(MAGIC_BYTES, 0);
  view.setUint16(4, CODEC_VERSION, true);
  view.setUint16(6, 0, true);
  view.setUint32(8, header.length, true);
  view.setUint32(12, crc32(header), true);
  view.setUint32(16, offset, true);
  out.set(header, PREFIX_BYTES);
  const payload = new Float32Array(out.buffer, payloadStart, offset / 4);
  for (const e of tensors) payload.set(weights.get(e.name)!.data, e.offset / 4);
  view.setUint32(20, crc32(out.subarray(payloadStart)), true);
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
}

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
  if (version !== CODEC_VERSION) throw new WeightCodecError(`unsupported weight format version ${version} (this build reads ${CODEC_VERSION})`);
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
  const tensors = validateHeader(parsed, payloadLength);
  const meta = ((parsed as { meta?: unknown }).meta ?? {}) as CodecMeta;

  const aligned = (bytes.byteOffset + payloadStart) % 4 === 0;
  const weights: WeightMap = new Map();
  for (const e of tensors) {
    let data: Float32Array;
    if (aligned && !options.copy) {
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

function validateHeader(parsed: unknown, payloadLength: number): TensorEntry[] {
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
    if (e.dtype !== 'float32') throw new WeightCodecError(`tensor '${e.name}' has dtype ${String(e.dtype)}; only float32 is supported`);
    if (!Array.isArray(e.shape) || e.shape.length > 8 || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new WeightCodecError(`tensor '${e.name}' has an invalid shape`);
    }
    if (e.length !== sizeOf(e.shape)) throw new WeightCodecError(`tensor '${e.name}' length ${e.length} does not match shape [${e.shape}]`);
    if (e.offset !== expectedOffset) throw new WeightCodecError(`tensor '${e.name}' offset ${e.offset} is not ${expectedOffset} (tensors must be contiguous, in order)`);
    expectedOffset += e.length * 4;
  });
  if (expectedOffset !== payloadLength) {
    throw new WeightCodecError(`tensors cover ${expectedOffset} bytes but the payload has ${payloadLength}`);
  }
  return entries as TensorEntry[];
}
