import { describe, expect, it } from 'vitest';
import { ImageBatchSource, toModelInput } from '../../../shared/data/images';

describe('toModelInput', () => {
  it('pads 28x28 to [count, 32, 32, 3] in [0, 1], 2 px of zeros each side', () => {
    const count = 2;
    const images = new Uint8Array(count * 28 * 28).fill(255);
    images[0] = 51; // image 0, pixel (0, 0)
    images[28 * 28 + 27 * 28 + 27] = 0; // image 1, pixel (27, 27)
    const x = toModelInput(images, count);
    expect(x.length).toBe(count * 32 * 32 * 3);
    expect(Math.min(...x)).toBe(0);
    expect(Math.max(...x)).toBe(1);
    const at = (n: number, y: number, xx: number, c: number) => x[((n * 32 + y) * 32 + xx) * 3 + c];
    for (let c = 0; c < 3; c++) {
      expect(at(0, 2, 2, c)).toBeCloseTo(0.2, 6); // source (0, 0), replicated to every channel
      expect(at(1, 29, 29, c)).toBe(0); // source (27, 27)
      expect(at(1, 29, 28, c)).toBe(1);
    }
    // The 2-px border is zero, the 28x28 interior is the image.
    let border = 0;
    let interior = 0;
    for (let y = 0; y < 32; y++) {
      for (let xx = 0; xx < 32; xx++) {
        const inside = y >= 2 && y < 30 && xx >= 2 && xx < 30;
        if (inside) interior += at(0, y, xx, 1);
        else border += at(0, y, xx, 1);
      }
    }
    expect(border).toBe(0);
    expect(interior).toBeCloseTo(28 * 28 - 1 + 0.2, 4);
  });

  it('nearest-resizes when the target is smaller', () => {
    // 4x4 image with value = 10 * row + col; resizing to 2 picks rows/cols 1 and 3 (centres at 1, 3).
    const img = Uint8Array.from({ length: 16 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4));
    const x = toModelInput(img, 1, 4, 4, 2);
    expect(Array.from(x.filter((_, i) => i % 3 === 0), (v) => Math.round(v * 255))).toEqual([11, 13, 31, 33]);
  });

  it('centre-pads non-square and odd amounts', () => {
    const x = toModelInput(new Uint8Array(3 * 2).fill(255), 1, 3, 2, 5);
    // top = 1, left = 1: rows 1..3, cols 1..2 are ones.
    const ones = Array.from({ length: 25 }, (_, i) => x[i * 3]).map((v, i) => (v === 1 ? i : -1)).filter((i) => i >= 0);
    expect(ones).toEqual([6, 7, 11, 12, 16, 17]);
  });

  it('rejects a wrong length', () => {
    expect(() => toModelInput(new Uint8Array(10), 1)).toThrow(/expected 1\*28\*28/);
  });
});

describe('ImageBatchSource', () => {
  // Image i is filled with the value i, so a batch reads back as a list of indices.
  const count = 10;
  const size = 2;
  const channels = 3;
  const images = Float32Array.from({ length: count * size * size * channels }, (_, j) => Math.floor(j / (size * size * channels)));
  const ids = (batch: Float32Array) => Array.from({ length: batch.length / 12 }, (_, b) => batch[b * 12]);

  it('is deterministic per seed and differs across seeds', () => {
    const a = new ImageBatchSource(images, count, size, channels, 1);
    const b = new ImageBatchSource(images, count, size, channels, 1);
    const c = new ImageBatchSource(images, count, size, channels, 2);
    const seqA = [ids(a.nextBatch(4)), ids(a.nextBatch(4))];
    expect([ids(b.nextBatch(4)), ids(b.nextBatch(4))]).toEqual(seqA);
    expect([ids(c.nextBatch(4)), ids(c.nextBatch(4))]).not.toEqual(seqA);
  });

  it('visits every image once per epoch and copies whole images', () => {
    const s = new ImageBatchSource(images, count, size, channels, 5);
    expect(s.count).toBe(10);
    const epoch1 = ids(s.nextBatch(10));
    expect([...epoch1].sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(s.epoch).toBe(1);
    const batch = s.nextBatch(3);
    for (let b = 0; b < 3; b++) expect(new Set(batch.subarray(b * 12, (b + 1) * 12)).size).toBe(1);
    expect(s.epoch).toBe(2);
    const epoch2 = [...ids(batch), ...ids(s.nextBatch(7))];
    expect([...epoch2].sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(epoch2).not.toEqual(epoch1); // a fresh order per epoch
  });

  it('batches larger than the dataset span epochs', () => {
    const s = new ImageBatchSource(images, count, size, channels, 0);
    const got = ids(s.nextBatch(25));
    expect(got).toHaveLength(25);
    expect(new Set(got.slice(0, 10)).size).toBe(10);
    expect(s.epoch).toBe(3);
  });

  it('rejects mismatched sizes', () => {
    expect(() => new ImageBatchSource(images, count + 1, size, channels, 0)).toThrow(/expected 11\*2\*2\*3/);
  });
});
