import { describe, expect, it } from 'vitest';
import { emaMomentum, emaUpdate, emaUpdateInPlace } from '../../../shared/federation/ema';
import type { WeightMap } from '../../../shared/weights/weight-map';

const map = (entries: Record<string, number[]>): WeightMap => new Map(Object.entries(entries).map(([k, v]) => [k, { shape: [v.length], data: Float32Array.from(v) }]));

describe('EMA (BYOL eq. 1)', () => {
  it('ξ ← m·ξ + (1 − m)·θ on declared pairs only, without touching inputs', () => {
    const target = map({ 'target/a': [1, 2], 'target/b': [10, 10], 'target/c': [5] });
    const online = map({ a: [3, 4], b: [0, 20], c: [7] });
    const out = emaUpdate(target, online, [{ online: 'a', target: 'target/a' }, { online: 'b', target: 'target/b' }], 0.75);
    expect(Array.from(out.get('target/a')!.data)).toEqual([1.5, 2.5]);
    expect(Array.from(out.get('target/b')!.data)).toEqual([7.5, 12.5]);
    expect(Array.from(out.get('target/c')!.data)).toEqual([5]);
    expect(Array.from(target.get('target/a')!.data)).toEqual([1, 2]);
  });

  it('m = 0 copies, m = 1 keeps; in-place variant agrees', () => {
    const online = map({ a: [3, 4] });
    const pairs = [{ online: 'a', target: 'target/a' }];
    expect(Array.from(emaUpdate(map({ 'target/a': [1, 2] }), online, pairs, 0).get('target/a')!.data)).toEqual([3, 4]);
    expect(Array.from(emaUpdate(map({ 'target/a': [1, 2] }), online, pairs, 1).get('target/a')!.data)).toEqual([1, 2]);
    const t = map({ 'target/a': [1, 2] });
    emaUpdateInPlace(t, online, pairs, 0.5);
    expect(Array.from(t.get('target/a')!.data)).toEqual([2, 3]);
  });

  it('throws on a missing or mismatched pair', () => {
    expect(() => emaUpdate(map({ 'target/a': [1] }), map({}), [{ online: 'a', target: 'target/a' }], 0.9)).toThrow(/missing online/);
    expect(() => emaUpdate(map({ 'target/a': [1] }), map({ a: [1, 2] }), [{ online: 'a', target: 'target/a' }], 0.9)).toThrow(/sizes differ/);
  });

  it('cosine schedule ramps τ_base → 1 (BYOL §3.2)', () => {
    const s = { base: 0.99, kind: 'cosine' as const, rampSteps: 100 };
    expect(emaMomentum(0, s)).toBeCloseTo(0.99, 12);
    expect(emaMomentum(50, s)).toBeCloseTo(1 - 0.01 * 0.5, 12);
    expect(emaMomentum(100, s)).toBeCloseTo(1, 12);
    expect(emaMomentum(1000, s)).toBeCloseTo(1, 12);
    expect(emaMomentum(7, { base: 0.9, kind: 'constant' })).toBe(0.9);
    expect(() => emaMomentum(0, { base: 0.9, kind: 'cosine' })).toThrow(/rampSteps/);
  });
});
