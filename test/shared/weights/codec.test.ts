import { describe, expect, it } from 'vitest';
import { decodeWeights, encodeWeights, WeightCodecError } from '../../../shared/weights/codec';
import { crc32 } from '../../../shared/weights/crc32';
import { WeightMismatchError, specsOf, type WeightMap } from '../../../shared/weights/weight-map';

function sample(): WeightMap {
  const m: WeightMap = new Map();
  m.set('enc_stem_conv/kernel', { shape: [3, 3, 3, 4], data: Float32Array.from({ length: 108 }, (_, i) => Math.sin(i) * 1e3) });
  m.set('enc_stem_norm/gamma', { shape: [4], data: new Float32Array([1, -0, 3.5e-38, -2]) });
  m.set('empty', { shape: [0, 5], data: new Float32Array(0) });
  m.set('scalar', { shape: [], data: new Float32Array([42]) });
  return m;
}

/** Re-encodes with a hand-edited header, fixing up lengths and checksums, to reach deep validation. */
function withHeader(bytes: Uint8Array, edit: (h: any) => any): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(24, 24 + hlen)));
  const payload = bytes.subarray((24 + hlen + 7) & ~7);
  const nh = new TextEncoder().encode(JSON.stringify(edit(header)));
  const start = (24 + nh.length + 7) & ~7;
  const out = new Uint8Array(start + payload.length);
  out.set(bytes.subarray(0, 24));
  out.set(nh, 24);
  out.set(payload, start);
  const ov = new DataView(out.buffer);
  ov.setUint32(8, nh.length, true);
  ov.setUint32(12, crc32(nh), true);
  return out;
}

describe('weight codec', () => {
  it('round-trips exactly, including -0, denormals, empty and scalar tensors, and meta', () => {
    const w = sample();
    const bytes = encodeWeights(w, { meta: { version: 7, kind: 'delta' } });
    const { weights, meta } = decodeWeights(bytes);
    expect(meta).toEqual({ version: 7, kind: 'delta' });
    expect([...weights.keys()]).toEqual([...w.keys()]);
    for (const [name, t] of w) {
      const d = weights.get(name)!;
      expect(d.shape).toEqual(t.shape);
      expect(new Uint8Array(d.data.buffer, d.data.byteOffset, d.data.byteLength)).toEqual(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  });

  it('views the payload in place when aligned and copies when not', () => {
    const bytes = encodeWeights(sample());
    const inPlace = decodeWeights(bytes).weights.get('enc_stem_conv/kernel')!;
    expect(inPlace.data.buffer).toBe(bytes.buffer);
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    const copied = decodeWeights(shifted).weights.get('enc_stem_conv/kernel')!;
    expect(copied.data.buffer).not.toBe(shifted.buffer);
    expect(Array.from(copied.data)).toEqual(Array.from(sample().get('enc_stem_conv/kernel')!.data));
  });

  it('copies correctly out of a misaligned Node Buffer from a shared pool', () => {
    const bytes = encodeWeights(sample());
    // Buffer.from(string) and small Buffers live in a shared pool: .buffer is much bigger than the view.
    const pooled = Buffer.concat([Buffer.from('x'), Buffer.from(bytes)]).subarray(1);
    expect(pooled.byteOffset % 4).not.toBe(0);
    for (const opts of [{}, { copy: true }]) {
      const w = decodeWeights(pooled, opts).weights.get('enc_stem_conv/kernel')!;
      expect(w.data.length).toBe(108);
      expect(Array.from(w.data)).toEqual(Array.from(sample().get('enc_stem_conv/kernel')!.data));
    }
  });

  it('accepts the expected spec set in any order and rejects a different one', () => {
    const w = sample();
    const bytes = encodeWeights(w);
    expect(() => decodeWeights(bytes, { expected: specsOf(w).reverse() })).not.toThrow();
    const wrongShape = specsOf(w).map((s) => (s.name === 'scalar' ? { ...s, shape: [1] } : s));
    expect(() => decodeWeights(bytes, { expected: wrongShape })).toThrow(/weight 'scalar' has shape \[\] but the model has \[1\]/);
    const missing = [...specsOf(w), { name: 'extra', shape: [2] }];
    expect(() => decodeWeights(bytes, { expected: missing })).toThrow(WeightMismatchError);
    expect(() => decodeWeights(bytes, { expected: missing })).toThrow(/missing weight 'extra'/);
    expect(() => decodeWeights(bytes, { expected: specsOf(w).slice(1) })).toThrow(/unexpected weight 'enc_stem_conv\/kernel'/);
  });

  const corruptions: Array<[string, (b: Uint8Array) => Uint8Array | unknown, RegExp]> = [
    ['garbage', () => Uint8Array.from({ length: 200 }, (_, i) => (i * 37) & 255), /bad magic/],
    ['empty', () => new Uint8Array(0), /truncated/],
    ['short prefix', (b) => b.slice(0, 10), /truncated/],
    ['truncated payload', (b) => b.slice(0, b.length - 3), /truncated/],
    ['trailing bytes', (b) => { const o = new Uint8Array(b.length + 4); o.set(b); return o; }, /trailing bytes/],
    ['flipped payload bit', (b) => { const o = b.slice(); o[o.length - 5] ^= 1; return o; }, /payload checksum mismatch/],
    ['flipped header bit', (b) => { const o = b.slice(); o[30] ^= 1; return o; }, /header checksum mismatch/],
    ['future version', (b) => { const o = b.slice(); o[4] = 9; return o; }, /unsupported weight format version 9/],
    ['absurd header length', (b) => { const o = b.slice(); new DataView(o.buffer).setUint32(8, 0xffffff00, true); return o; }, /header length/],
    ['not binary', () => 'hello' as unknown, /must be binary/],
    ['wrong dtype', (b) => withHeader(b, (h) => { h.tensors[1].dtype = 'int32'; return h; }), /dtype int32/],
    ['duplicate name', (b) => withHeader(b, (h) => { h.tensors[1].name = h.tensors[0].name; return h; }), /duplicate tensor name/],
    ['shape/length mismatch', (b) => withHeader(b, (h) => { h.tensors[0].shape = [3, 3, 3, 5]; return h; }), /does not match shape/],
    ['negative dim', (b) => withHeader(b, (h) => { h.tensors[0].shape = [-108]; return h; }), /invalid shape/],
    ['overlapping offsets', (b) => withHeader(b, (h) => { h.tensors[1].offset = 0; return h; }), /must be contiguous/],
    ['no tensors list', (b) => withHeader(b, () => ({ meta: {} })), /no "tensors" list/],
    ['payload not covered', (b) => withHeader(b, (h) => { h.tensors.pop(); return h; }), /tensors cover/],
  ];
  for (const [what, corrupt, message] of corruptions) {
    it(`rejects ${what} with a clear error`, () => {
      const bad = corrupt(encodeWeights(sample()));
      expect(() => decodeWeights(bad as Uint8Array)).toThrow(WeightCodecError);
      expect(() => decodeWeights(bad as Uint8Array)).toThrow(message);
    });
  }

  it('refuses to encode data that does not fill its shape', () => {
    const m: WeightMap = new Map([['w', { shape: [2, 2], data: new Float32Array(3) }]]);
    expect(() => encodeWeights(m)).toThrow(/3 values but shape \[2,2\] needs 4/);
  });

  it('computes the standard CRC-32', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});
