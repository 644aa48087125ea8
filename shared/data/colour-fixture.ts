/**
 * The committed colour fixture: 32×32 RGB crops of the sample photographs shipped by Debian's
 * `python3-skimage` package (astronaut, chelsea, coffee, motorcycle_left/right, rocket), made by
 * `scripts/make-colour-fixture.py`. Fashion-MNIST is grayscale; colorization's class-rebalancing
 * prior and its tests, and colour-augmentation checks, need real colours. Node-only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const COLOUR_FIXTURE_DIR = fileURLToPath(new URL('../../test/fixtures/colour-small/', import.meta.url));

export interface ColourImages {
  /** `[count, size, size, 3]` uint8 RGB, row-major. */
  images: Uint8Array;
  count: number;
  size: number;
}

/** Loads the fixture; `limit` keeps only the first images. */
export function loadColourFixture(limit?: number): ColourImages {
  const meta = JSON.parse(readFileSync(join(COLOUR_FIXTURE_DIR, 'meta.json'), 'utf8')) as { count: number; size: number; channels: number };
  const raw = gunzipSync(readFileSync(join(COLOUR_FIXTURE_DIR, 'images.u8.gz')));
  const per = meta.size * meta.size * meta.channels;
  if (meta.channels !== 3 || raw.length !== meta.count * per) {
    throw new Error(`colour fixture in ${COLOUR_FIXTURE_DIR}: ${raw.length} bytes do not match meta ${JSON.stringify(meta)}`);
  }
  const count = Math.min(meta.count, limit ?? meta.count);
  return { images: new Uint8Array(raw.buffer, raw.byteOffset, count * per), count, size: meta.size };
}

/** uint8 RGB → float32 `[count, size, size, 3]` in `[0, 1]` (model input). */
export function colourToModelInput(c: ColourImages): Float32Array {
  const out = new Float32Array(c.images.length);
  for (let i = 0; i < out.length; i++) out[i] = c.images[i] / 255;
  return out;
}
