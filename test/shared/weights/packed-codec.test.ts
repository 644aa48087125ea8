/**
 * The codec's lossy variants (shared/weights/pack.ts, float16.ts): float16 rounds to nearest even
 * and keeps the special values, int8 stays within half a step of its block's scale, top-k keeps
 * exactly the k largest magnitudes; every variant round-trips through GLWT, is viewed in place
 * where aligned, and — like float32 — rejects corrupted headers with a clear error and survives a
 * seeded mutation fuzz (every outcome is a WeightCodecError or a well-formed map, never a crash).
 */
import { describe, expect, it } from 'vitest';
import { compressWithFeedback } from '../../../shared/federation/error-feedback';
import { decodeWeights, encodePacked, encodeWeights, WeightCodecError } from '../../../shared/weights/codec';
import { crc32 } from '../../../shared/weights/crc32';
import { floatsToHalves, halvesToFloats, toHalf } from '../../../shared/weights/float16';
import { packTensor, topKIndices, unpackTensor, type PackOptions } from '../../../shared/weights/pack';
import type { WeightMap } from '../../../shared/weights/weight-map';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function sample(seed = 1): WeightMap {
  const r = rng(seed);
  const m: WeightMap = new Map();
  m.set('conv/kernel', { shape: [3, 3, 3, 5], data: Float32Array.from({ length: 135 }, () => (r() - 0.5) * 0.02) });
  m.set('odd', { shape: [7], data: Float32Array.from({ length: 7 }, (_, i) => (i - 3) * 1.5) });
  m.set('empty', { shape: [0, 5], data: new Float32Array(0) });
  m.set('scalar', { shape: [], data: new Float32Array([-0.25]) });
  return m;
}

/** [name, packing, write positions as bitmaps where smaller (format 3)] */
const VARIANTS: Array<[string, PackOptions, boolean?]> = [
  ['float16', { dtype: 'float16' }],
  ['int8 (block 16)', { dtype: 'int8', block: 16 }],
  ['top-10% float32', { dtype: 'float32', topK: 0.1 }],
  ['top-10% int8', { dtype: 'int8', topK: 0.1, block: 4 }],
  ['top-30% float16', { dtype: 'float16', topK: 0.3 }],
  ['top-10% float32, bitmap positions', { dtype: 'float32', topK: 0.1 }, true],
  ['top-30% int8, bitmap positions', { dtype: 'int8', topK: 0.3, block: 4 }, true],
];

describe('float16', () => {
  it('rounds to nearest even and keeps zeros, subnormals, infinities and NaN', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(65520)).toBe(0x7c00); // rounds up past the largest half: Infinity
    expect(toHalf(-0)).toBe(0x8000);
    expect(toHalf(2 ** -24)).toBe(1); // smallest subnormal
    expect(toHalf(2 ** -26)).toBe(0); // below half of it: zero
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(toHalf(NaN) & 0x7c00).toBe(0x7c00);
    const xs = Float32Array.from([0.1, -3.14159, 1e-6, 1e4, Infinity, -Infinity]);
    const back = halvesToFloats(floatsToHalves(xs));
    for (let i = 0; i < 4; i++) expect(Math.abs(back[i] - xs[i])).toBeLessThanOrEqual(Math.abs(xs[i]) * 2 ** -11 + 2 ** -25);
    expect(back[4]).toBe(Infinity);
    expect(back[5]).toBe(-Infinity);
    expect(Number.isNaN(halvesToFloats(floatsToHalves(Float32Array.of(NaN)))[0])).toBe(true);
  });
});

describe('pack', () => {
  it('int8 stays within half a quantization step of its block scale', () => {
    const r = rng(3);
    const x = Float32Array.from({ length: 1000 }, () => (r() - 0.5) * (r() < 0.01 ? 100 : 1));
    const p = packTensor(x, [1000], { dtype: 'int8', block: 64 });
    const y = unpackTensor(p);
    for (let i = 0; i < x.length; i++) expect(Math.abs(y[i] - x[i])).toBeLessThanOrEqual(p.scales![Math.floor(i / 64)] / 2 + 1e-9);
  });

  it('top-k keeps exactly the k largest magnitudes, ascending, ties by position', () => {
    const x = Float32Array.from([0.1, -5, 3, 0, 3, -3, 2]);
    expect(Array.from(topKIndices(x, 3))).toEqual([1, 2, 4]);
    expect(Array.from(topKIndices(x, 0))).toEqual([]);
    expect(Array.from(topKIndices(x, 9))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const r = rng(4);
    const big = Float32Array.from({ length: 5000 }, () => r() - 0.5);
    const idx = topKIndices(big, 50);
    const threshold = Math.min(...Array.from(idx, (i) => Math.abs(big[i])));
    expect(big.filter((v) => Math.abs(v) > threshold).length).toBe(49);
  });

  it('error feedback: what one round drops, the next round sends', () => {
    const delta = sample(5);
    const first = compressWithFeedback(delta, null, { dtype: 'int8', topK: 0.1, block: 8 });
    expect(first.relativeError).toBeGreaterThan(0.3);
    // Sent + residual = the corrected update exactly (up to float rounding).
    for (const [name, t] of delta) {
      const sent = unpackTensor(first.packed.get(name)!);
      t.data.forEach((v, i) => expect(sent[i] + first.residual.get(name)!.data[i]).toBeCloseTo(v, 6));
    }
    // With a zero next delta, feedback alone pushes the dropped mass out over a few rounds.
    const zero: WeightMap = new Map([...delta].map(([n, t]) => [n, { shape: t.shape, data: new Float32Array(t.data.length) }]));
    let residual = first.residual;
    for (let k = 0; k < 30; k++) residual = compressWithFeedback(zero, residual, { dtype: 'int8', topK: 0.1, block: 8 }).residual;
    for (const t of residual.values()) for (const v of t.data) expect(Math.abs(v)).toBeLessThan(1e-3);
  });
});

describe('packed weight codec', () => {
  for (const [what, pack, bitmaps] of VARIANTS) {
    it(`${what}: round-trips to what the packing stands for, and is smaller than float32`, () => {
      const w = sample();
      const bytes = encodeWeights(w, { pack, meta: { v: 1 }, bitmaps });
      expect(new DataView(bytes.buffer).getUint16(4, true)).toBe(bitmaps ? 3 : 2);
      const { weights, meta } = decodeWeights(bytes);
      expect(meta).toEqual({ v: 1 });
      for (const [name, t] of w) {
        expect(weights.get(name)!.shape).toEqual(t.shape);
        expect(Array.from(weights.get(name)!.data)).toEqual(Array.from(unpackTensor(packTensor(t.data, t.shape, pack))));
      }
      expect(bytes.length).toBeLessThan(encodeWeights(w).length);
      // Misaligned input decodes the same.
      const shifted = new Uint8Array(bytes.length + 1).subarray(1);
      shifted.set(bytes);
      expect(Array.from(decodeWeights(shifted).weights.get('conv/kernel')!.data)).toEqual(Array.from(weights.get('conv/kernel')!.data));
    });

    it(`${what}: a shared decode (the server's) gives the same values, all in the one buffer it was given`, () => {
      const bytes = encodeWeights(sample(), { pack, bitmaps });
      const shifted = new Uint8Array(bytes.length + 1).subarray(1);
      shifted.set(bytes);
      for (const sparse of [false, true]) {
        for (const input of [bytes, shifted]) {
          const plain = decodeWeights(input, { sparse }).weights;
          const arena = new SharedArrayBuffer(8 * 200 + 12);
          const shared = decodeWeights(input, { sparse, shared: () => ({ buffer: arena, offset: 12 }) }).weights;
          for (const [name, t] of plain) {
            const u = shared.get(name)!;
            expect(u.shape).toEqual(t.shape);
            expect(Array.from(u.data)).toEqual(Array.from(t.data));
            expect(u.nz === undefined).toBe(t.nz === undefined);
            for (const a of u.nz ? [u.nz, u.values!] : [u.data]) if (a.length) expect(a.buffer).toBe(arena);
          }
        }
      }
    });

    it(`${what}: seeded mutation fuzz — only clean errors or well-formed maps`, () => {
      const bytes = encodeWeights(sample(), { pack, bitmaps });
      const r = rng(42);
      let errors = 0;
      for (let k = 0; k < 300; k++) {
        const b = bytes.slice(0, r() < 0.3 ? Math.floor(r() * bytes.length) : bytes.length);
        for (let f = 1 + Math.floor(r() * 6); f > 0; f--) if (b.length) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
        try {
          const d = decodeWeights(b);
          for (const t of d.weights.values()) expect(t.data.length).toBe(t.shape.reduce((a, c) => a * c, 1));
        } catch (e) {
          expect(e).toBeInstanceOf(WeightCodecError);
          errors++;
        }
      }
      expect(errors).toBeGreaterThan(250);
    });
  }

  /** A valid file with a hand-edited header (checksums fixed), to reach deep validation. */
  function edited(edit: (h: any) => void, pack: PackOptions = { dtype: 'int8', topK: 0.5, block: 4 }, bitmaps = false): Uint8Array {
    const bytes = encodeWeights(sample(), { pack, bitmaps });
    const view = new DataView(bytes.buffer);
    const hlen = view.getUint32(8, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(24, 24 + hlen)));
    edit(header);
    const payload = bytes.subarray((24 + hlen + 7) & ~7);
    const nh = new TextEncoder().encode(JSON.stringify(header));
    const start = (24 + nh.length + 7) & ~7;
    const out = new Uint8Array(start + payload.length);
    out.set(bytes.subarray(0, 24));
    out.set(nh, 24);
    out.set(payload, start);
    new DataView(out.buffer).setUint32(8, nh.length, true);
    new DataView(out.buffer).setUint32(12, crc32(nh), true);
    return out;
  }

  const corruptions: Array<[string, () => Uint8Array, RegExp]> = [
    ['an unknown dtype', () => edited((h) => (h.tensors[0].dtype = 'bfloat16')), /dtype bfloat16/],
    ['int8 without a block', () => edited((h) => delete h.tensors[0].block), /without a valid block/],
    ['a zero block', () => edited((h) => (h.tensors[0].block = 0)), /without a valid block/],
    ['a block on float16', () => edited((h) => (h.tensors[0].block = 4), { dtype: 'float16' }), /has a block but is float16/],
    ['nnz above length', () => edited((h) => (h.tensors[1].nnz = 99)), /invalid nnz/],
    ['a fractional nnz', () => edited((h) => (h.tensors[1].nnz = 1.5)), /invalid nnz/],
    ['a changed block (sections no longer fit)', () => edited((h) => (h.tensors[0].block = 1)), /ends past the payload|tensors must be contiguous/],
    ['float16 in a version-1 file', () => { const b = edited(() => {}, { dtype: 'float16' }); b[4] = 1; return b; }, /format 1 supports float32/],
    ['a bitmap in a version-2 file', () => { const b = edited(() => {}, { dtype: 'float32', topK: 0.5 }, true); b[4] = 2; return b; }, /only a sparse tensor in format 3/],
    ['a bitmap on a dense tensor', () => { const b = edited((h) => (h.tensors[0].positions = 'bitmap'), { dtype: 'float16' }); b[4] = 3; return b; }, /only a sparse tensor in format 3/],
    ['an unknown kind of positions', () => edited((h) => (h.tensors[0].positions = 'runs'), { dtype: 'float32', topK: 0.5 }, true), /only a sparse tensor in format 3/],
    ['version 4', () => { const b = edited(() => {}); b[4] = 4; return b; }, /unsupported weight format version 4/],
  ];
  for (const [what, make, message] of corruptions) {
    it(`rejects ${what} with a clear error`, () => {
      expect(() => decodeWeights(make())).toThrow(WeightCodecError);
      expect(() => decodeWeights(make())).toThrow(message);
    });
  }

  it('writes positions as a bitmap only where that is smaller, and only when asked', () => {
    const x = Float32Array.from({ length: 1024 }, (_, i) => Math.sin(i * 0.37));
    const at = (topK: number, bitmaps: boolean) => encodeWeights(new Map([['w', { shape: [1024], data: x }]]), { pack: { dtype: 'int8', topK }, bitmaps });
    // 1024 values: a bitmap is 32 words, so it pays from 33 kept values on.
    expect(at(0.25, true).length).toBeLessThan(at(0.25, false).length - 4 * (256 - 32) + 64);
    expect(new DataView(at(0.25, true).buffer).getUint16(4, true)).toBe(3);
    expect(new DataView(at(0.02, true).buffer).getUint16(4, true)).toBe(2); // 21 kept: indices are smaller
    expect(new DataView(at(0.25, false).buffer).getUint16(4, true)).toBe(2);
    expect(Array.from(decodeWeights(at(0.25, true)).weights.get('w')!.data)).toEqual(Array.from(decodeWeights(at(0.25, false)).weights.get('w')!.data));
  });

  it('rejects a bitmap that sets a bit past the tensor, or more or fewer bits than nnz', () => {
    const p = packTensor(Float32Array.from({ length: 40 }, (_, i) => i + 1), [40], { dtype: 'float32', topK: 0.5 });
    const corrupt = (word: (w: number) => number) => {
      const bytes = encodePacked(new Map([['w', p]]), {}, { bitmaps: true });
      const view = new DataView(bytes.buffer);
      const start = (24 + view.getUint32(8, true) + 7) & ~7;
      view.setUint32(start + 4, word(view.getUint32(start + 4, true)), true);
      view.setUint32(20, crc32(bytes.subarray(start)), true);
      return bytes;
    };
    expect(() => decodeWeights(corrupt((w) => w))).not.toThrow();
    // Kept positions 20..39: word 1 holds 32..39 in bits 0..7.
    expect(() => decodeWeights(corrupt((w) => (w & ~(1 << 7)) | 0x80000000))).toThrow(/does not set exactly nnz = 20 bits below 40/); // 39 → 63
    expect(() => decodeWeights(corrupt((w) => w & ~1))).toThrow(/does not set exactly nnz = 20/); // 19 bits
    expect(() => decodeWeights(corrupt((w) => w | (1 << 8)))).toThrow(/does not set exactly nnz = 20/); // 21 bits (40 is past too)
    // The server's decode writes the positions straight into its shared buffer: the same checks.
    expect(() => decodeWeights(corrupt((w) => (w & ~(1 << 7)) | 0x80000000), { sparse: true, shared: true })).toThrow(/does not set exactly nnz = 20 bits below 40/);
    expect(() => decodeWeights(corrupt((w) => w | (1 << 8)), { sparse: true, shared: true })).toThrow(/does not set exactly nnz = 20/);
  });

  it('rejects sparse indices out of order or out of range', () => {
    const p = packTensor(Float32Array.from([1, 0, 2, 0, 3]), [5], { dtype: 'float32', topK: 0.6 });
    const bad = (idx: number[]) => encodePacked(new Map([['w', { ...p, indices: Uint32Array.from(idx) }]]));
    expect(() => decodeWeights(bad([0, 2, 4]))).not.toThrow();
    expect(() => decodeWeights(bad([2, 0, 4]))).toThrow(/indices must increase strictly/);
    expect(() => decodeWeights(bad([0, 2, 5]))).toThrow(/stay below 5/);
  });
});
