/**
 * Fetching one image the person saw, on the device: with the extension's host permission, no
 * cookies, no referrer. The body is read as a stream and the download is cancelled as soon as it
 * passes {@link MAX_IMAGE_BYTES} (a 20 MB PNG costs 8 MB, not 20), and the browser's HTTP cache
 * is used where it has the image ('force-cache': a cached copy is taken without revalidation;
 * browsers partition the cache by top-level site, so the page's own copy is usually not ours to
 * reuse, but a second fetch of the same URL by the extension is).
 */

/** Images bigger than this are skipped (bytes). */
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;
export const FETCH_TIMEOUT_MS = 15_000;

export class ImageFetchError extends Error {
  override name = 'ImageFetchError';
}

export async function fetchImage(url: string, signal?: AbortSignal, maxBytes = MAX_IMAGE_BYTES): Promise<Blob> {
  const cancel = new AbortController();
  const res = await fetch(url, {
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
    cache: 'force-cache',
    signal: AbortSignal.any([cancel.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS), ...(signal ? [signal] : [])]),
  });
  const refuse = (why: string): never => {
    cancel.abort(); // closes the connection: nothing more is downloaded
    throw new ImageFetchError(why);
  };
  if (!res.ok) refuse(`HTTP ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (type && !type.startsWith('image/')) refuse(`not an image (${type})`);
  if (type.startsWith('image/svg')) refuse('vector images are skipped');
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > maxBytes) refuse(`too large (${length} bytes)`);
  if (!res.body) return res.blob();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      void reader.cancel().catch(() => {});
      refuse(`too large (more than ${maxBytes} bytes)`);
    }
    chunks.push(value);
  }
  return new Blob(chunks as BlobPart[], { type });
}
