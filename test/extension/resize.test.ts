import { describe, expect, it } from 'vitest';
import { keepSize, shrinkRgb } from '../../extension/offscreen/resize';

describe('shrinkRgb (area average)', () => {
  it('is an exact box filter for whole factors, per image and per channel', () => {
    // two 4×4 images → 2×2: each output pixel is the mean of a 2×2 block.
    const px = new Uint8Array(2 * 4 * 4 * 3);
    for (let n = 0; n < 2; n++) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) {
      const p = ((n * 4 + y) * 4 + x) * 3;
      px.set([y * 4 + x, 100 + n, 200], p);
    }
    const out = shrinkRgb(px, 2, 4, 2);
    expect(Array.from(out.filter((_, i) => i % 3 === 0).slice(0, 4))).toEqual([2.5, 4.5, 10.5, 12.5].map(Math.round));
    expect(Array.from(out.filter((_, i) => i % 3 === 1))).toEqual([100, 100, 100, 100, 101, 101, 101, 101]);
  });

  it('weights partial overlaps for other factors and keeps a flat image flat', () => {
    const flat = new Uint8Array(3 * 3 * 3).fill(90);
    expect([...new Set(shrinkRgb(flat, 1, 3, 2))]).toEqual([90]);
    // 3 → 2 in one row: output 0 covers input 0 fully and half of input 1.
    const row = new Uint8Array(3 * 3 * 3);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) row.set([x * 30, 0, 0], (y * 3 + x) * 3);
    const out = shrinkRgb(row, 1, 3, 2);
    expect(out[0]).toBe(Math.round((0 * 1 + 30 * 0.5) / 1.5)); // 10
    expect(out[3]).toBe(Math.round((30 * 0.5 + 60 * 1) / 1.5)); // 50
  });

  it('keeps 64 px unless a plan asks for more, and refuses to enlarge', () => {
    expect(keepSize(null)).toBe(64);
    expect(keepSize(16)).toBe(64);
    expect(keepSize(96)).toBe(96);
    expect(() => shrinkRgb(new Uint8Array(12), 1, 2, 4)).toThrow(/enlarge/);
  });
});
