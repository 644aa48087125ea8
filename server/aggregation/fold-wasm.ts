/**
 * A WebAssembly SIMD fold: acc += a0·x0 + a1·x1 + a2·x2 + a3·x3, four f32 lanes per instruction.
 * V8 does not vectorise JS loops, so the plain-JS fold (fold.ts) is compute-bound at a fraction
 * of memory bandwidth; with 128-bit SIMD the loop becomes memory-bound.
 *
 * The module is assembled here from named opcodes (no binary blob to trust, no build step). The
 * deltas are copied into the module's memory per tensor (a memcpy) and folded there; the result
 * is copied out. Falls back to the JS fold where WebAssembly SIMD is unavailable.
 */
import { sizeOf, type WeightMap, type WeightSpec } from '../../shared/weights/weight-map';
import { axpyTensor, weightedSum as weightedSumJs, zerosFromSpecs } from './fold';

// ---- a minimal WebAssembly binary writer
const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;
const op = {
  block: [0x02, 0x40], loop: [0x03, 0x40], end: [0x0b], br: 0x0c, brIf: 0x0d,
  get: 0x20, set: 0x21, i32const: 0x41, i32add: [0x6a], i32geu: [0x4f],
};
const simd = (code: number) => [0xfd, ...uleb(code)];
const V128_LOAD = (align = 4) => [...simd(0x00), align, 0];
const V128_STORE = (align = 4) => [...simd(0x0b), align, 0];
const F32X4_SPLAT = simd(0x13);
const F32X4_ADD = simd(0xe4);
const F32X4_MUL = simd(0xe6);

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const get = (i: number) => [op.get, ...uleb(i)];
const set = (i: number) => [op.set, ...uleb(i)];

/** fold4(acc, x0, x1, x2, x3, bytes, a0, a1, a2, a3): pointers and byte count are multiples of 16. */
function fold4Body(): number[] {
  // params 0..5 i32 (acc, x0..x3, bytes), 6..9 f32 (a0..a3); locals: 10 i32 (i), 11..14 v128 (splats)
  const addr = (p: number) => [...get(p), ...get(10), ...op.i32add];
  const term = (x: number, v: number) => [...addr(x), ...V128_LOAD(), ...get(v), ...F32X4_MUL];
  const code = [
    ...[0, 1, 2, 3].flatMap((k) => [...get(6 + k), ...F32X4_SPLAT, ...set(11 + k)]),
    ...op.block, ...op.loop,
    ...get(10), ...get(5), ...op.i32geu, op.brIf, 1,
    ...addr(0),
    ...addr(0), ...V128_LOAD(),
    ...term(1, 11), ...term(2, 12), ...F32X4_ADD,
    ...term(3, 13), ...term(4, 14), ...F32X4_ADD,
    ...F32X4_ADD, ...F32X4_ADD,
    ...V128_STORE(),
    ...get(10), op.i32const, ...sleb(16), ...op.i32add, ...set(10),
    op.br, 0,
    ...op.end, ...op.end, ...op.end,
  ];
  const locals = vec([[1, I32], [4, V128]]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const type = section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [F32], [F32], [F32], [F32]]), 0]]));
  const func = section(3, vec([[0]]));
  const memory = section(5, vec([[0x00, 1]])); // 1 page minimum, grown on demand
  const name = [...new TextEncoder().encode('memory')];
  const fname = [...new TextEncoder().encode('fold4')];
  const exports = section(7, vec([[...uleb(name.length), ...name, 0x02, 0], [...uleb(fname.length), ...fname, 0x00, 0]]));
  const code = section(10, vec([fold4Body()]));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...func, ...memory, ...exports, ...code]);
}

interface Kernel {
  memory: WebAssembly.Memory;
  fold4: (acc: number, x0: number, x1: number, x2: number, x3: number, bytes: number, a0: number, a1: number, a2: number, a3: number) => void;
}

let kernel: Kernel | null | undefined;

/** The SIMD kernel, or null where WebAssembly SIMD is unavailable. */
export function simdKernel(): Kernel | null {
  if (kernel !== undefined) return kernel;
  try {
    const bytes = moduleBytes();
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return (kernel = null);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    kernel = inst.exports as unknown as Kernel;
  } catch {
    kernel = null;
  }
  return kernel;
}

/** Floats per chunk: five 64 KiB regions (accumulator + four deltas) stay in L2 while folded. */
const CHUNK = 16384;
const REGION = CHUNK * 4;

/**
 * Σ_i w_i·Δ_i like fold.ts's weightedSum, four deltas at a time with SIMD. Tensors are folded in
 * cache-sized chunks: each delta chunk is copied once into the module's memory (a read from RAM,
 * a write into cache) and folded from cache, so RAM sees each delta byte once. Sparse terms
 * (top-k uploads) are added afterwards from their kept values alone.
 */
export function weightedSumSimd(k: Kernel, specs: readonly WeightSpec[], terms: ReadonlyArray<{ delta: WeightMap; weight: number }>): WeightMap {
  const out = zerosFromSpecs(specs);
  const live = terms.filter((t) => t.weight !== 0);
  if (!live.length) return out;
  if (k.memory.buffer.byteLength < 5 * REGION) k.memory.grow(Math.ceil((5 * REGION - k.memory.buffer.byteLength) / 65536));
  const mem = new Float32Array(k.memory.buffer);
  const R = CHUNK; // region stride in floats
  for (const [name, t] of out) {
    const n = t.data.length;
    const ts = live.map(({ delta, weight }) => {
      const d = delta.get(name);
      if (!d || (d.nz ? sizeOf(d.shape) : d.data.length) !== n) throw new Error(`weightedSum: a term lacks '${name}' or differs in size`);
      return { d, weight };
    });
    const sparse = ts.filter(({ d }) => d.nz);
    const dense = ts.filter(({ d }) => !d.nz);
    const xs = dense.map(({ d }) => d.data);
    for (let off = 0; xs.length > 0 && off < n; off += CHUNK) {
      const len = Math.min(CHUNK, n - off);
      const len4 = len & ~3;
      mem.fill(0, 0, len);
      for (let g = 0; g < xs.length; g += 4) {
        const w = [0, 0, 0, 0];
        for (let j = 0; j < 4; j++) {
          const idx = g + j;
          if (idx < xs.length) {
            mem.set(xs[idx].subarray(off, off + len), R * (1 + j));
            w[j] = dense[idx].weight;
          } else {
            mem.fill(0, R * (1 + j), R * (1 + j) + len); // finite, weight 0
          }
        }
        if (len4) k.fold4(0, REGION, 2 * REGION, 3 * REGION, 4 * REGION, len4 * 4, w[0], w[1], w[2], w[3]);
        for (let i = len4; i < len; i++) mem[i] += w[0] * mem[R + i] + w[1] * mem[2 * R + i] + w[2] * mem[3 * R + i] + w[3] * mem[4 * R + i];
      }
      t.data.set(mem.subarray(0, len), off);
    }
    for (const { d, weight } of sparse) axpyTensor(t.data, d, weight);
  }
  return out;
}

/** weightedSum with the SIMD kernel when available (GLIMPSE_FOLD=js forces the JS loop). */
export function weightedSumFast(specs: readonly WeightSpec[], terms: ReadonlyArray<{ delta: WeightMap; weight: number }>): WeightMap {
  const k = typeof process !== 'undefined' && process.env?.GLIMPSE_FOLD === 'js' ? null : simdKernel();
  return k ? weightedSumSimd(k, specs, terms) : weightedSumJs(specs, terms);
}
