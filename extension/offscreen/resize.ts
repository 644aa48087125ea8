/**
 * Shrinking buffered images to the plan's input size. The buffer keeps every image at one size
 * that does not depend on any plan ({@link keepSize}), so images can be decoded and kept before
 * the server has said what it trains on; a round shrinks its sample to the plan's size here.
 */

/** Side at which images are decoded and kept when no plan asks for more. */
export const KEEP_SIZE = 64;

/** The buffer's side for a plan input size (none known yet: {@link KEEP_SIZE}). */
export function keepSize(planInputSize: number | null | undefined): number {
  return Math.max(KEEP_SIZE, planInputSize ?? 0);
}

/**
 * Area-averaging resize of `count` square RGB images [count, from, from, 3] → [count, to, to, 3]
 * (to ≤ from): each output pixel is the mean of the input area it covers, weighted by overlap —
 * an exact box filter when `from` is a multiple of `to`.
 */
export function shrinkRgb(pixels: Uint8Array, count: number, from: number, to: number): Uint8Array {
  if (to > from) throw new Error(`shrinkRgb: cannot enlarge ${from} px to ${to} px`);
  if (pixels.length !== count * from * from * 3) throw new Error(`shrinkRgb: ${pixels.length} bytes is not ${count} images of ${from}×${from} RGB`);
  if (to === from) return pixels;
  const scale = from / to;
  // Per output coordinate: the input indices it overlaps and each one's overlap length.
  const spans = Array.from({ length: to }, (_, o) => {
    const a = o * scale;
    const b = a + scale;
    const idx: number[] = [];
    const w: number[] = [];
    for (let i = Math.floor(a); i < Math.min(from, Math.ceil(b)); i++) {
      const overlap = Math.min(b, i + 1) - Math.max(a, i);
      if (overlap > 1e-9) idx.push(i), w.push(overlap);
    }
    return { idx, w };
  });
  const out = new Uint8Array(count * to * to * 3);
  const area = scale * scale;
  for (let n = 0; n < count; n++) {
    const src = n * from * from * 3;
    const dst = n * to * to * 3;
    for (let oy = 0; oy < to; oy++) {
      const ys = spans[oy];
      for (let ox = 0; ox < to; ox++) {
        const xs = spans[ox];
        let r = 0, g = 0, b = 0;
        for (let j = 0; j < ys.idx.length; j++) {
          for (let i = 0; i < xs.idx.length; i++) {
            const wt = ys.w[j] * xs.w[i];
            const p = src + (ys.idx[j] * from + xs.idx[i]) * 3;
            r += pixels[p] * wt;
            g += pixels[p + 1] * wt;
            b += pixels[p + 2] * wt;
          }
        }
        const q = dst + (oy * to + ox) * 3;
        out[q] = Math.round(r / area);
        out[q + 1] = Math.round(g / area);
        out[q + 2] = Math.round(b / area);
      }
    }
  }
  return out;
}
