/**
 * IEEE 754 binary16 ⇄ binary32 for the weight codec's float16 dtype (JavaScript has no
 * Float16Array before ES2025). Encoding rounds to nearest, ties to even, keeps ±0, subnormals,
 * ±Infinity and NaN; decoding is one lookup in a 65,536-entry table built on first use (256 KiB),
 * so a multi-megabyte tensor decodes at memory speed.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bits nearest to `x`. */
export function toHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN (quiet)
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → ±Infinity
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit-1 mantissa right, round to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // may carry into the exponent: still correct
  return h;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

let table: Float32Array | null = null;

function lookup(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = halfToFloat(h);
  }
  return table;
}

export function floatsToHalves(src: Float32Array, out = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) out[i] = toHalf(src[i]);
  return out;
}

export function halvesToFloats(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  const t = lookup();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}
