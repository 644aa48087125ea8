import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { augment, GRAYSCALE_LAYOUT_VIEW, SIMCLR_SMALL_VIEW, withViewOverrides } from '../../../shared/augment';
import { randomErase, randomShift, sampleEraseBoxes } from '../../../shared/augment/shift-erase';
import { BACKENDS, expectImages, maxAbsDiff, randomImages, useBackend } from './backends';

/** `img` ([h, w, c] values) moved down by dy and right by dx, zero fill: the reference shift. */
function shifted(img: Float32Array, h: number, w: number, c: number, dy: number, dx: number): Float32Array {
  const out = new Float32Array(img.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sy = y - dy;
      const sx = x - dx;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
      for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = img[(sy * w + sx) * c + k];
    }
  }
  return out;
}

/** The shift (dy, dx) within ±max that turns `src` into `dst` (to 1e-5), or null if none does. */
function findShift(src: Float32Array, dst: Float32Array, h: number, w: number, c: number, max: number): [number, number] | null {
  for (let dy = -max; dy <= max; dy++) {
    for (let dx = -max; dx <= max; dx++) {
      const ref = shifted(src, h, w, c, dy, dx);
      if (ref.every((v, i) => Math.abs(v - dst[i]) < 1e-5)) return [dy, dx];
    }
  }
  return null;
}

describe.each(BACKENDS)('layout-keeping views on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('randomShift moves each whole image by a whole number of pixels within ±max, zero fill, the same for the same seed', () => {
    const [b, h, w, c] = [12, 9, 8, 3];
    const x = randomImages([b, h, w, c], 5);
    const src = tf.unstack(x).map((t) => t.dataSync() as Float32Array);
    const shiftsOf = (seed: number) =>
      tf.unstack(randomShift(x, 2, seed)).map((t, i) => {
        const found = findShift(src[i], t.dataSync() as Float32Array, h, w, c, 2);
        expect(found, `image ${i} is not a whole-pixel shift of its input`).not.toBeNull();
        return found;
      });
    const a = shiftsOf(7);
    expect(new Set(a.map(String)).size).toBeGreaterThan(3);
    expect(shiftsOf(7)).toEqual(a);
    expect(shiftsOf(8)).not.toEqual(a);
    expect(maxAbsDiff(randomShift(x, 0, 7), x)).toBe(0);
  });

  it('randomErase zeroes one rectangle of 2–20% of the image in the chosen images and leaves every other pixel', () => {
    const [b, h, w, c] = [16, 20, 20, 3];
    const x = tf.add(tf.mul(randomImages([b, h, w, c], 3), 0.9), 0.05) as tf.Tensor4D; // no zero before erasing
    const boxes = sampleEraseBoxes(11, b, h, w, 0.5);
    expect(boxes.filter(Boolean).length).toBeGreaterThan(0);
    expect(boxes.filter(Boolean).length).toBeLessThan(b);
    const out = randomErase(x, 0.5, 11);
    expectImages(out, [b, h, w, c]);
    const before = x.arraySync();
    const after = out.arraySync();
    boxes.forEach((box, i) => {
      let zeros = 0;
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          const inside = box !== null && y >= box[0] && y < box[0] + box[2] && xx >= box[1] && xx < box[1] + box[3];
          for (let k = 0; k < c; k++) expect(after[i][y][xx][k]).toBe(inside ? 0 : before[i][y][xx][k]);
          if (inside) zeros++;
        }
      }
      if (box) {
        // Rounding each side to whole pixels moves the area a little past the drawn 2–20%.
        expect(zeros).toBeGreaterThanOrEqual(Math.floor(0.02 * h * w * 0.5));
        expect(zeros).toBeLessThanOrEqual(Math.ceil(0.2 * h * w * 1.5));
      }
    });
    expect(maxAbsDiff(randomErase(x, 0, 11), x)).toBe(0);
  });

  it('GRAYSCALE_LAYOUT_VIEW keeps the shape, the range and the garment (no rescaling), and frees its intermediates', () => {
    const x = randomImages([8, 32, 32, 1], 9);
    const view = withViewOverrides({ ...SIMCLR_SMALL_VIEW, outputSize: 32 }, { ...GRAYSCALE_LAYOUT_VIEW });
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      augment(x, view, 1);
    });
    expect(tf.memory().numTensors).toBe(before);
    const out = augment(x, view, 1);
    expectImages(out, [8, 32, 32, 3]);
    // Every pixel of the view is a pixel of the input (shifted, maybe flipped) or erased to 0:
    // the crop, which would interpolate new values, is off.
    const inputs = new Set(Array.from(x.dataSync(), (v) => Math.round(v * 1e5)));
    for (const v of out.dataSync()) expect(v === 0 || inputs.has(Math.round(v * 1e5))).toBe(true);
    out.dispose();
  });
});

describe('layout-keeping view overrides (MethodConfig.view)', () => {
  it('accept whole-pixel shifts and an erase probability, and reject anything else from a run config', () => {
    const base = { ...SIMCLR_SMALL_VIEW, outputSize: 32 };
    const view = withViewOverrides(base, { shiftPx: 3, eraseP: 0.5, cropScale: [1, 1] });
    expect(view).toMatchObject({ shiftPx: 3, eraseP: 0.5, cropScale: [1, 1] });
    expect(() => withViewOverrides(base, { shiftPx: 2.5 })).toThrow(/shiftPx must be a whole number/);
    expect(() => withViewOverrides(base, { shiftPx: -1 })).toThrow(/shiftPx/);
    expect(() => withViewOverrides(base, { shiftPx: 40 })).toThrow(/shiftPx/);
    expect(() => withViewOverrides(base, { eraseP: 1.5 })).toThrow(/eraseP must be a probability/);
    expect(() => withViewOverrides(base, { eraseP: 'half' })).toThrow(/eraseP/);
  });

  it('leave the paper views as they were: no shift, no erasing unless asked', () => {
    const x = randomImages([4, 32, 32, 3], 2);
    const a = augment(x, { ...SIMCLR_SMALL_VIEW, outputSize: 32 }, 5);
    const b = augment(x, { ...SIMCLR_SMALL_VIEW, outputSize: 32, shiftPx: 0, eraseP: 0 }, 5);
    expect(maxAbsDiff(a, b)).toBe(0);
  });
});
