/**
 * Fetching and decoding one image into the model's input format, entirely on the device:
 * fetch with the extension's host permission (no cookies sent), decode with createImageBitmap,
 * centre-crop to a square and resize on an OffscreenCanvas, keep [size, size, 3] RGB bytes.
 */

/** Images bigger than this are skipped (bytes). */
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;
export const FETCH_TIMEOUT_MS = 15_000;

export async function fetchImage(url: string, signal?: AbortSignal): Promise<Blob> {
  const timeout = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  const res = await fetch(url, {
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (type && !type.startsWith('image/')) throw new Error(`not an image (${type})`);
  if (type.startsWith('image/svg')) throw new Error('vector images are skipped');
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > MAX_IMAGE_BYTES) throw new Error(`too large (${length} bytes)`);
  const blob = await res.blob();
  if (blob.size > MAX_IMAGE_BYTES) throw new Error(`too large (${blob.size} bytes)`);
  return blob;
}

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
