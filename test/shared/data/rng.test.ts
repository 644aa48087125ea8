import { describe, expect, it } from 'vitest';
import { mulberry32, permutation, randomDirichlet, randomLogGamma } from '../../../shared/data/rng';

describe('rng', () => {
  it('mulberry32 is deterministic per seed and uniform-ish', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
  });

  it('permutation is a permutation', () => {
    const p = permutation(100, mulberry32(1));
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it.each([0.3, 1, 4])('Gamma(%f) draws have mean ≈ shape', (shape) => {
    const rand = mulberry32(7);
    const n = 20000;
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(randomLogGamma(shape, rand));
    expect(s / n).toBeCloseTo(shape, 1);
  });

  it('Dirichlet draws sum to one, even for tiny alpha', () => {
    const rand = mulberry32(3);
    for (const alpha of [0.001, 0.1, 100]) {
      const p = randomDirichlet(alpha, 10, rand);
      expect(p.every((x) => x >= 0 && Number.isFinite(x))).toBe(true);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  });
});
