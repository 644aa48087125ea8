/** The toolbar and store icons: padded (Chrome's 16-of-128 guidance), and three clear bands even at 16 px. */
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { iconPadding, iconPng } from '../../extension/tools/png';

const decode = (size: number) => PNG.sync.read(iconPng(size));

describe('icons', () => {
  it('leave a transparent margin around the art at every size', () => {
    for (const size of [16, 32, 48, 128]) {
      const { data, width } = decode(size);
      const alpha = (x: number, y: number) => data[(y * width + x) * 4 + 3];
      const pad = iconPadding(size);
      for (let i = 0; i < size; i++) {
        for (let k = 0; k < pad; k++) {
          expect([alpha(i, k), alpha(i, size - 1 - k), alpha(k, i), alpha(size - 1 - k, i)], `${size}px edge`).toEqual([0, 0, 0, 0]);
        }
      }
      expect(alpha(size / 2, size / 2)).toBe(255);
    }
    expect(iconPadding(128)).toBe(16);
  });

  it('at 16 px: blue pupil, white ring, blue rim, each a solid pixel', () => {
    const { data } = decode(16);
    const rgb = (x: number, y: number) => Array.from(data.subarray((y * 16 + x) * 4, (y * 16 + x) * 4 + 3));
    const blue = [11, 87, 208];
    expect(rgb(8, 8)).toEqual(blue); // pupil
    expect(rgb(11, 8)).toEqual([255, 255, 255]); // ring: radius 3.5 of 7
    expect(rgb(14, 8)).toEqual(blue); // rim: radius 6.5 of 7
  });
});
