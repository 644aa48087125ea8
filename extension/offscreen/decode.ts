/**
 * Decoding one fetched image (./fetch-image.ts) into the buffer's format, entirely on the
 * device: decode with createImageBitmap, centre-crop to a square and resize on an
 * OffscreenCanvas, keep [size, size, 3] RGB bytes.
 */

/** Centre square of the image, resized to size × size, as RGB bytes [size, size, 3]. */
export async function decodeToRgb(blob: Blob, size: number): Promise<Uint8Array> {
  const bmp = await createImageBitmap(blob);
  try {
    const side = Math.min(bmp.width, bmp.height);
    if (side < 1) throw new Error('empty image');
    const canvas = new OffscreenCanvas(size, size);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2d context');
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bmp, (bmp.width - side) / 2, (bmp.height - side) / 2, side, side, 0, 0, size, size);
    return rgbaToRgb(ctx.getImageData(0, 0, size, size).data);
  } finally {
    bmp.close();
  }
}

export function rgbaToRgb(rgba: Uint8ClampedArray | Uint8Array): Uint8Array {
  const n = rgba.length / 4;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = rgba[i * 4];
    out[i * 3 + 1] = rgba[i * 4 + 1];
    out[i * 3 + 2] = rgba[i * 4 + 2];
  }
  return out;
}
