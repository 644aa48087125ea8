/**
 * Node: a folder of PNG/JPEG images as a contributor's local data. Images are decoded with pngjs /
 * jpeg-js (pure JS, no native binaries), resized to the model's input size (bilinear, RGB) and
 * held in memory as model input [count, size, size, 3] in [0, 1].
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 8 bits per channel, row-major. */
  rgba: Uint8Array;
}

const EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);
/** Refuse absurd images before allocating their pixels (a 64 MP RGBA image is 256 MB). */
const MAX_PIXELS = 64 * 1024 * 1024;

export function decodeImage(bytes: Uint8Array): DecodedImage {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6 });
    return { width: img.width, height: img.height, rgba: img.data };
  }
  throw new Error('not a PNG or JPEG file');
}

/** Bilinear resize (align-corners = false, as tf.image.resizeBilinear) of RGBA → RGB floats in [0, 1]. out [size, size, 3] */
export function resizeToModelInput(img: DecodedImage, size: number, out = new Float32Array(size * size * 3)): Float32Array {
  const { width: w, height: h, rgba } = img;
  const sy = h / size;
  const sx = w / size;
  for (let y = 0; y < size; y++) {
    const fy = Math.min(h - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(w - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(w - 1, x0 + 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => rgba[(yy * w + xx) * 4 + c];
        const top = p(y0, x0) * (1 - wx) + p(y0, x1) * wx;
        const bottom = p(y1, x0) * (1 - wx) + p(y1, x1) * wx;
        out[(y * size + x) * 3 + c] = (top * (1 - wy) + bottom * wy) / 255;
      }
    }
  }
  return out;
}

export interface FolderImages {
  images: Float32Array;
  count: number;
  skipped: string[];
}

/** Loads every PNG/JPEG directly inside `dir` (not recursive). Undecodable files are skipped and listed. */
export async function loadImageFolder(dir: string, size: number, limit = Infinity): Promise<FolderImages> {
  const names = (await readdir(dir)).filter((n) => EXTENSIONS.has(extname(n).toLowerCase())).sort().slice(0, limit);
  if (names.length === 0) throw new Error(`no .png/.jpg/.jpeg images in ${dir}`);
  const images = new Float32Array(names.length * size * size * 3);
  const skipped: string[] = [];
  let count = 0;
  for (const name of names) {
    try {
      const img = decodeImage(await readFile(join(dir, name)));
      if (img.width * img.height > MAX_PIXELS) throw new Error('too large');
      resizeToModelInput(img, size, images.subarray(count * size * size * 3, (count + 1) * size * size * 3));
      count++;
    } catch (e) {
      skipped.push(`${name}: ${(e as Error).message}`);
    }
  }
  if (count === 0) throw new Error(`none of the ${names.length} images in ${dir} could be decoded (${skipped[0]})`);
  return { images: images.subarray(0, count * size * size * 3), count, skipped };
}
