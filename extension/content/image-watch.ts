/**
 * Noticing the images a person actually sees: an <img> counts once it has been at least half in
 * the viewport for {@link WatchOptions.dwellMs}, is at least {@link WatchOptions.minSide} pixels
 * on both sides (natural and rendered: no icons, avatars, spacers or tracking pixels), is not an
 * extreme strip, and has an http(s) or raster data: URL. Seen URLs are de-duplicated and
 * reported in batches. Everything is released through the AbortSignal.
 */

export interface WatchOptions {
  dwellMs: number;
  minSide: number;
  /** Longest side / shortest side above which an image is a banner or spacer. */
  maxAspect: number;
  /** Report after this many URLs, or after flushMs, whichever comes first. */
  batchSize: number;
  flushMs: number;
}

export const DEFAULT_WATCH: WatchOptions = { dwellMs: 1000, minSide: 64, maxAspect: 3, batchSize: 16, flushMs: 2000 };

const RASTER_DATA_URL = /^data:image\/(png|jpeg|jpg|webp|gif|avif|bmp);/i;
const MAX_DATA_URL = 1_000_000;

/** The URL to report for an image source, or null when it is not one the extension may use. */
export function reportableUrl(src: string): string | null {
  if (!src) return null;
  if (RASTER_DATA_URL.test(src)) return src.length <= MAX_DATA_URL ? src : null;
  if (!/^https?:\/\//i.test(src) || src.length > 4096) return null;
  if (/\.svg(\?|#|$)/i.test(src)) return null; // vector art: logos and icons
  return src;
}

/** Big enough to be a picture rather than an icon or a spacer. */
export function isPictureSized(natural: { w: number; h: number }, rendered: { w: number; h: number }, o: Pick<WatchOptions, 'minSide' | 'maxAspect'> = DEFAULT_WATCH): boolean {
  const ok = (w: number, h: number) => w >= o.minSide && h >= o.minSide && Math.max(w, h) / Math.min(w, h) <= o.maxAspect;
  return ok(natural.w, natural.h) && ok(rendered.w, rendered.h);
}

/**
 * Seen URLs waiting to be reported: sent when `batchSize` are waiting or `flushMs` after the
 * first, or at once on flush() (the page is being left).
 */
export class UrlBatch {
  private pending: string[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly report: (urls: string[]) => void,
    private readonly o: Pick<WatchOptions, 'batchSize' | 'flushMs'> = DEFAULT_WATCH,
  ) {}

  add(url: string): void {
    this.pending.push(url);
    if (this.pending.length >= this.o.batchSize) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.o.flushMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length) this.report(this.pending.splice(0));
  }

  /** Drops what is waiting (the watch was stopped). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
  }
}

/**
 * Watches every <img> under `root` (including ones added later) and calls `report` with batches
 * of newly seen URLs. Stops when `signal` aborts. The returned flush() reports what is waiting
 * now: call it when the page is being left, or those images are lost.
 */
export function watchImages(root: Document, report: (urls: string[]) => void, signal: AbortSignal, o: WatchOptions = DEFAULT_WATCH): { flush(): void } {
  const seen = new Set<string>();
  const timers = new Map<Element, number>();
  const batch = new UrlBatch((urls) => signal.aborted || report(urls), o);

  const consider = (img: HTMLImageElement) => {
    if (!img.isConnected || !img.complete) return;
    const url = reportableUrl(img.currentSrc || img.src);
    if (!url || seen.has(url)) return;
    const r = img.getBoundingClientRect();
    if (!isPictureSized({ w: img.naturalWidth, h: img.naturalHeight }, { w: r.width, h: r.height }, o)) return;
    seen.add(url);
    batch.add(url);
  };

  const io = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const img = e.target as HTMLImageElement;
        if (e.isIntersecting) {
          if (!timers.has(img)) timers.set(img, setTimeout(() => (timers.delete(img), consider(img)), o.dwellMs) as unknown as number);
        } else {
          clearTimeout(timers.get(img));
          timers.delete(img);
        }
      }
    },
    { threshold: 0.5 },
  );

  const observe = (n: Node) => {
    if (n instanceof HTMLImageElement) io.observe(n);
    else if (n instanceof Element) n.querySelectorAll('img').forEach((i) => io.observe(i));
  };
  observe(root.documentElement);
  const mo = new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(observe)));
  mo.observe(root.documentElement, { childList: true, subtree: true });

  signal.addEventListener('abort', () => {
    io.disconnect();
    mo.disconnect();
    timers.forEach((t) => clearTimeout(t));
    batch.cancel();
  }, { once: true });
  return { flush: () => batch.flush() };
}
