import { describe, expect, it } from 'vitest';
import { applyNormDecision, decideNorm, decodeDelta, median, normAndFinite } from '../../../server/aggregation/validate';
import { encodeWeights } from '../../../shared/weights/codec';
import type { WeightMap } from '../../../shared/weights/weight-map';

const map = (entries: Record<string, number[]>): WeightMap => new Map(Object.entries(entries).map(([k, v]) => [k, { shape: [v.length], data: Float32Array.from(v) }]));
const specs = [{ name: 'a', shape: [2] }, { name: 'b', shape: [1] }];
const guard = { maxNorm: 100, medianMultiple: 4, window: 8, minHistory: 3, mode: 'clip' as const };

describe('delta validation', () => {
  it('accepts exactly the specs, finite', () => {
    const r = decodeDelta(encodeWeights(map({ b: [1], a: [2, 3] })), specs);
    expect(r.ok).toBe(true);
  });
  it('names the problem', () => {
    expect(decodeDelta(new Uint8Array(3), specs)).toMatchObject({ ok: false, code: 'bad_encoding' });
    expect(decodeDelta(encodeWeights(map({ a: [1, 2] })), specs)).toMatchObject({ ok: false, code: 'wrong_weights', reason: expect.stringMatching(/missing weight 'b'/) });
    const inf = decodeDelta(encodeWeights(map({ a: [1, 2], b: [Infinity] })), specs);
    expect(inf.ok && normAndFinite(inf.value)).toMatchObject({ ok: false, code: 'not_finite', reason: expect.stringMatching(/'b'.*Infinity/) });
    const bytes = encodeWeights(map({ a: [1, 2], b: [3] }));
    bytes[bytes.length - 1] ^= 0x40;
    expect(decodeDelta(bytes, specs)).toMatchObject({ ok: false, code: 'bad_encoding', reason: expect.stringMatching(/checksum/) });
  });
  it('norm and finiteness in one pass', () => {
    expect(normAndFinite(map({ a: [3, 4] }))).toEqual({ ok: true, value: 5 });
    expect(normAndFinite(map({ a: [NaN, 1] }))).toMatchObject({ ok: false, code: 'not_finite' });
    // float32 squares summed in float64 cannot overflow: a huge finite delta gets a huge finite norm.
    expect(normAndFinite(map({ a: [3e38, 3e38] }))).toMatchObject({ ok: true, value: expect.any(Number) });
  });
  it('works on a misaligned Node Buffer (copies correctly)', () => {
    const bytes = encodeWeights(map({ a: [1, 2], b: [3] }));
    const pool = Buffer.alloc(bytes.length + 1);
    pool.set(bytes, 1);
    const r = decodeDelta(pool.subarray(1), specs);
    expect(r.ok && Array.from(r.value.get('a')!.data)).toEqual([1, 2]);
  });
});

describe('norm guard', () => {
  it('hard bound always applies', () => {
    expect(decideNorm(101, [], guard)).toMatchObject({ action: 'reject' });
    expect(decideNorm(NaN, [], guard)).toMatchObject({ action: 'reject' });
    expect(decideNorm(99, [], guard)).toMatchObject({ action: 'accept' });
  });
  it('clips or rejects above multiple × recent median once there is history', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(decideNorm(9, [2, 2], guard)).toMatchObject({ action: 'accept' });
    expect(decideNorm(9, [2, 2, 2], guard)).toMatchObject({ action: 'clip', bound: 8 });
    expect(decideNorm(9, [2, 2, 2], { ...guard, mode: 'reject' })).toMatchObject({ action: 'reject', reason: expect.stringMatching(/median/) });
    const clipped = applyNormDecision(map({ a: [6, 8] }), { action: 'clip', norm: 10, bound: 5 });
    expect(Array.from(clipped.get('a')!.data)).toEqual([3, 4]);
  });
});
