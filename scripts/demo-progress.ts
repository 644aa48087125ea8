/**
 * `npm start -- --long`'s progress: how far the encoder's kNN is from raw pixels, a bar over the
 * time limit, and an ETA from the recent slope of kNN over time. Pure functions; demo.ts prints.
 */

export interface EvalPoint {
  /** ms since the run started. */
  t: number;
  /** Encoder kNN top-1 in [0, 1]. */
  knn: number;
}

/**
 * Minutes until the least-squares line through the last `window` points reaches `target`, or null
 * when it never will at that slope (flat or falling, fewer than two points).
 */
export function etaMinutes(points: EvalPoint[], target: number, window = 4): number | null {
  const p = points.slice(-window);
  if (p.length < 2) return null;
  const mt = p.reduce((s, x) => s + x.t, 0) / p.length;
  const mk = p.reduce((s, x) => s + x.knn, 0) / p.length;
  const den = p.reduce((s, x) => s + (x.t - mt) ** 2, 0);
  if (den === 0) return null;
  const slope = p.reduce((s, x) => s + (x.t - mt) * (x.knn - mk), 0) / den;
  const last = p[p.length - 1];
  if (last.knn >= target) return 0;
  if (!(slope > 0)) return null;
  return (target - last.knn) / slope / 60_000;
}

/** "[######------]  18/60 min" */
export function progressBar(elapsedMs: number, limitMs: number, width = 24): string {
  const f = Math.max(0, Math.min(1, elapsedMs / limitMs));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${Math.floor(elapsedMs / 60_000)}/${Math.round(limitMs / 60_000)} min`;
}

/** The --long progress line after an evaluation. */
export function longProgressLine(points: EvalPoint[], rawPixels: number, elapsedMs: number, limitMs: number): string {
  const last = points[points.length - 1];
  const gap = (rawPixels - last.knn) * 100;
  const eta = etaMinutes(points, rawPixels);
  const etaText =
    gap <= 0 ? 'passed raw pixels'
    : eta === null ? 'ETA: not rising yet'
    : eta * 60_000 > limitMs - elapsedMs ? `ETA ~${Math.ceil(eta)} min at the current slope (past the ${Math.round(limitMs / 60_000)}-min limit)`
    : `ETA ~${Math.ceil(eta)} min at the current slope`;
  return `progress ${progressBar(elapsedMs, limitMs)}  kNN ${(last.knn * 100).toFixed(1)}% vs raw pixels ${(rawPixels * 100).toFixed(1)}% (${gap > 0 ? `${gap.toFixed(1)} points to go` : `${(-gap).toFixed(1)} points above`}) · ${etaText}`;
}
