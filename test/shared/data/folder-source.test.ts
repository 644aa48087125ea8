import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeImage, loadImageFolder, resizeToModelInput } from '../../../shared/data/folder-source';

function png(w: number, h: number, px: (x: number, y: number) => [number, number, number]): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const [r, g, b] = px(x, y);
    p.data.set([r, g, b, 255], (y * w + x) * 4);
  }
  return PNG.sync.write(p);
}

describe('image folder source', () => {
  it('decodes PNG and JPEG, resizes to the model size, and skips what it cannot read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'glimpse-imgs-'));
    await writeFile(join(dir, 'a.png'), png(64, 48, () => [255, 0, 51]));
    const rgba = new Uint8Array(40 * 40 * 4).map((_, i) => (i % 4 === 3 ? 255 : i % 4 === 1 ? 200 : 0));
    await writeFile(join(dir, 'b.jpg'), jpeg.encode({ data: rgba, width: 40, height: 40 }, 95).data);
    await writeFile(join(dir, 'c.png'), Buffer.from('not really a png'));
    await writeFile(join(dir, 'notes.txt'), 'ignored');
    const { images, count, skipped } = await loadImageFolder(dir, 32);
    expect(count).toBe(2);
    expect(images.length).toBe(2 * 32 * 32 * 3);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/^c\.png: not a PNG or JPEG file/);
    // constant red-ish PNG stays constant after resizing
    expect(images[0]).toBeCloseTo(1, 5);
    expect(images[1]).toBeCloseTo(0, 5);
    expect(images[2]).toBeCloseTo(0.2, 5);
    // JPEG green ≈ 200/255 (lossy)
    expect(Math.abs(images[32 * 32 * 3 + 1] - 200 / 255)).toBeLessThan(0.05);
    expect(images.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('resizes bilinearly: a horizontal ramp stays a monotone ramp', () => {
    const img = decodeImage(png(8, 2, (x) => [x * 32, 0, 0]));
    const out = resizeToModelInput(img, 4);
    const reds = [0, 1, 2, 3].map((x) => out[x * 3]);
    for (let i = 1; i < 4; i++) expect(reds[i]).toBeGreaterThan(reds[i - 1]);
    expect(reds[0]).toBeCloseTo(16 / 255, 5); // midpoint of pixels 0 and 1
  });

  it('fails clearly on an empty folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'glimpse-empty-'));
    await expect(loadImageFolder(dir, 32)).rejects.toThrow(/no \.png\/\.jpg\/\.jpeg images in/);
  });
});
