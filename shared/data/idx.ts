/**
 * The IDX file format (LeCun et al., the MNIST / Fashion-MNIST container), parsed and written as
 * pure functions over `Uint8Array`, so the same code runs in Node and in the browser.
 *
 * Layout: two zero bytes, one type byte, one byte with the number of dimensions `r`, then `r`
 * big-endian uint32 sizes, then the data in row-major order, big-endian.
 *
 * Decompression is not done here: Node loaders gunzip with `node:zlib` (see `readIdxFile` in
 * `fashion-mnist.ts`), a browser would use `DecompressionStream('gzip')`.
 */

/** IDX element types, keyed by their type byte. */
export const IDX_TYPES = {
  0x08: 'uint8',
  0x09: 'int8',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
} as const;

export type IdxDtype = (typeof IDX_TYPES)[keyof typeof IDX_TYPES];

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A parsed IDX tensor: `data` holds `prod(dims)` elements in row-major order. */
export interface IdxArray {
  dtype: IdxDtype;
  dims: number[];
  data: IdxData;
}

const BYTES: Record<IdxDtype, number> = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 };

/** True when `bytes` starts with the gzip magic `1f 8b`. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses an uncompressed IDX buffer.
 *
 * The returned `data` is a fresh array (never a view into `bytes`), so callers may keep it after
 * dropping the file buffer. `name` only labels error messages.
 *
 * @throws Error on gzip input, a bad magic, an unknown type byte, zero dimensions, a truncated
 *   header, or a data length that does not match the dims (short or with trailing bytes).
 */
export function parseIdx(bytes: Uint8Array, name = 'IDX buffer'): IdxArray {
  if (isGzip(bytes)) {
    throw new Error(`${name}: data is gzip-compressed; gunzip it before parseIdx (readIdxFile does this)`);
  }
  if (bytes.length < 4) throw new Error(`${name}: too short for an IDX header (${bytes.length} bytes, need >= 4)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${name}: bad IDX magic: first two bytes must be 00 00, got ${hex(bytes[0])} ${hex(bytes[1])}`);
  }
  const dtype = IDX_TYPES[bytes[2] as keyof typeof IDX_TYPES];
  if (dtype === undefined) throw new Error(`${name}: unknown IDX type byte ${hex(bytes[2])}`);
  const rank = bytes[3];
  if (rank === 0) throw new Error(`${name}: IDX header declares 0 dimensions`);
  const headerLen = 4 + 4 * rank;
  if (bytes.length < headerLen) {
    throw new Error(`${name}: truncated IDX header: ${rank} dims need ${headerLen} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const expected = size * BYTES[dtype];
  const found = bytes.length - headerLen;
  if (found < expected) {
    throw new Error(`${name}: truncated IDX data: dims [${dims}] of ${dtype} need ${expected} bytes, found ${found}`);
  }
  if (found > expected) {
    throw new Error(`${name}: ${found - expected} trailing bytes after IDX data of dims [${dims}] (${dtype})`);
  }
  return { dtype, dims, data: readData(view, headerLen, size, dtype) };
}

function readData(view: DataView, offset: number, size: number, dtype: IdxDtype): IdxData {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + size));
    case 'int8':
      return new Int8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + size));
    // Multi-byte types are big-endian on disk, so they are read element by element.
    case 'int16': {
      const out = new Int16Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(size);
      for (let i = 0; i < size; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/**
 * Writes an IDX buffer (uncompressed); the inverse of `parseIdx`.
 *
 * @throws Error when `data.length` is not `prod(dims)` or a dim is not a uint32.
 */
export function encodeIdx(arr: IdxArray): Uint8Array {
  const { dtype, dims, data } = arr;
  if (dims.length < 1 || dims.length > 255) throw new Error(`encodeIdx: need 1..255 dims, got ${dims.length}`);
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new Error(`encodeIdx: bad dim ${d}`);
  }
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new Error(`encodeIdx: dims [${dims}] need ${size} elements, data has ${data.length}`);
  const typeByte = Number(Object.keys(IDX_TYPES).find((k) => IDX_TYPES[Number(k) as keyof typeof IDX_TYPES] === dtype));
  const headerLen = 4 + 4 * dims.length;
  const out = new Uint8Array(headerLen + size * BYTES[dtype]);
  const view = new DataView(out.buffer);
  out[2] = typeByte;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < size; i++) {
    const o = headerLen + i * BYTES[dtype];
    const v = data[i];
    switch (dtype) {
      case 'uint8': view.setUint8(o, v); break;
      case 'int8': view.setInt8(o, v); break;
      case 'int16': view.setInt16(o, v, false); break;
      case 'int32': view.setInt32(o, v, false); break;
      case 'float32': view.setFloat32(o, v, false); break;
      case 'float64': view.setFloat64(o, v, false); break;
    }
  }
  return out;
}

/** A labelled set of grayscale images, as stored in (Fashion-)MNIST. */
export interface LabeledImages {
  /** `[count, height, width]` row-major, 0 = background, 255 = ink. */
  images: Uint8Array;
  /** `[count]`, class ids. */
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

/**
 * Checks that an images file (`uint8 [N, H, W]`) and a labels file (`uint8 [N]`) belong together
 * and returns them as one `LabeledImages`. `numClasses`, when given, bounds the label values.
 *
 * @throws Error naming `source` when a dtype, rank, count or label is off.
 */
export function toLabeledImages(images: IdxArray, labels: IdxArray, source: string, numClasses?: number): LabeledImages {
  if (images.dtype !== 'uint8' || images.dims.length !== 3) {
    throw new Error(`${source}: images must be uint8 [N, H, W], got ${images.dtype} [${images.dims}]`);
  }
  if (labels.dtype !== 'uint8' || labels.dims.length !== 1) {
    throw new Error(`${source}: labels must be uint8 [N], got ${labels.dtype} [${labels.dims}]`);
  }
  const [count, height, width] = images.dims;
  if (labels.dims[0] !== count) {
    throw new Error(`${source}: ${count} images but ${labels.dims[0]} labels`);
  }
  const lab = labels.data as Uint8Array;
  if (numClasses !== undefined) {
    const bad = lab.findIndex((l) => l >= numClasses);
    if (bad >= 0) throw new Error(`${source}: label ${lab[bad]} at index ${bad} is not < ${numClasses}`);
  }
  return { images: images.data as Uint8Array, labels: lab, count, height, width };
}

function hex(b: number | undefined): string {
  return (b ?? 0).toString(16).padStart(2, '0');
}
