import { describe, expect, it } from 'vitest';
import { bernoulli, deriveSeed, mulberry32, randInt } from '../../../shared/augment/rng';

describe('mulberry32', () => {
  it('is a deterministic stream of floats in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });

  it('differs between seeds, and between derived stage seeds', () => {
    expect(mulberry32(1)()).not.toBe(mulberry32(2)());
    const stages = new Set([0, 1, 2, 3, 4, 5].map((s) => deriveSeed(7, s)));
    expect(stages.size).toBe(6);
    expect(deriveSeed(7, 0)).toBe(deriveSeed(7, 0));
  });

  it('draws integers in range and coins at the requested rate', () => {
    const r = mulberry32(3);
    const ints = Array.from({ length: 1000 }, () => randInt(r, 2, 5));
    expect(new Set(ints)).toEqual(new Set([2, 3, 4, 5]));
    const heads = bernoulli(r, 10_000, 0.2).filter(Boolean).length;
    expect(Math.abs(heads / 10_000 - 0.2)).toBeLessThan(0.02);
    expect(bernoulli(r, 5, 0)).toEqual([false, false, false, false, false]);
    expect(bernoulli(r, 5, 1)).toEqual([true, true, true, true, true]);
  });
});
