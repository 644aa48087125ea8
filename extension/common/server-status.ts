/**
 * The parts of a Glimpse server's public GET /api/status the extension shows: the global
 * model's progress (`eval.metrics`, names per the metric contract: `knn_top1`,
 * `knn_top1_raw_pixels`), whether the server adds differential-privacy noise (`dp`), and the
 * bytes one update moves (`transfer`). Every field may be absent (older servers, no evaluator):
 * absent means "show nothing" — or, for `dp`, "no DP".
 */
import { formatBytes, formatPercent } from './format';

export interface ServerStatus {
  version: number | null;
  /** kNN top-1 of the encoder and of raw pixels on the same split, when evaluated. */
  knn: { version: number | null; encoder: number; rawPixels: number | null } | null;
  /** Differential privacy on aggregated updates: null when the server does not say (= none). */
  dp: { epsilon: number | null } | null;
  /** Bytes of one uploaded update and of one download of the global weights; the server's rate limit. */
  transfer: { updateBytes: number; downloadBytes: number; localSteps: number | null; maxUpdatesPerMinute: number | null } | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/** Reads what it can from a /api/status body; never throws. */
export function parseServerStatus(body: unknown): ServerStatus {
  const b = obj(body) ?? {};
  const ev = obj(b.eval);
  const metrics = obj(ev?.metrics) ?? ev;
  const encoder = num(metrics?.knn_top1);
  const dpRaw = b.dp;
  const dpObj = obj(dpRaw);
  const dpOn = dpRaw === true || (dpObj !== null && dpObj.enabled !== false);
  const t = obj(b.transfer);
  const updateBytes = num(t?.updateBytes);
  const downloadBytes = num(t?.downloadBytes);
  return {
    version: num(b.version),
    knn: encoder === null ? null : { version: num(ev?.version), encoder, rawPixels: num(metrics?.knn_top1_raw_pixels) },
    dp: dpOn ? { epsilon: num(dpObj?.epsilon) } : null,
    transfer: updateBytes !== null && downloadBytes !== null ? { updateBytes, downloadBytes, localSteps: num(t?.localSteps), maxUpdatesPerMinute: num(t?.maxUpdatesPerMinute) } : null,
  };
}

export async function fetchServerStatus(serverUrl: string, timeoutMs = 4000): Promise<ServerStatus | null> {
  try {
    const res = await fetch(new URL('/api/status', serverUrl), { credentials: 'omit', cache: 'no-store', signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? parseServerStatus(await res.json()) : null;
  } catch {
    return null;
  }
}

/** "The shared model recognises 41 % of test pictures (raw pixels alone: 30 %)", or null when not evaluated. */
export function progressLine(s: ServerStatus | null): string | null {
  if (!s?.knn) return null;
  const raw = s.knn.rawPixels === null ? '' : ` (raw pixels alone: ${formatPercent(s.knn.rawPixels)})`;
  const v = s.knn.version === null ? '' : `, version ${s.knn.version}`;
  return `Shared model${v}: recognises ${formatPercent(s.knn.encoder)} of test pictures${raw}.`;
}

/** Whether the server adds differential-privacy noise, in words. */
export function dpLine(s: ServerStatus | null): string {
  if (!s) return 'Unknown: the server could not be asked.';
  if (!s.dp) return 'No DP: this server does not add differential-privacy noise to the updates it collects.';
  return `Yes: this server adds differential-privacy noise to the updates it collects${s.dp.epsilon === null ? '' : ` (ε = ${s.dp.epsilon})`}.`;
}

/**
 * Most updates a day can send: the daily budget divided by the time one update takes (measured
 * on this device: steps × step time, stretched by the CPU cap), and the server's rate limit over
 * those minutes; null when neither is known yet.
 */
export function updatesPerDayBound(o: { budgetMinutes: number; maxUpdatesPerMinute: number | null; localSteps: number | null; stepMs: number | null; cpuPercent: number }): number | null {
  const bounds: number[] = [];
  if (o.maxUpdatesPerMinute !== null) bounds.push(o.budgetMinutes * o.maxUpdatesPerMinute);
  if (o.localSteps && o.stepMs) bounds.push((o.budgetMinutes * 60_000) / ((o.localSteps * o.stepMs * 100) / o.cpuPercent));
  return bounds.length ? Math.floor(Math.min(...bounds)) : null;
}

/**
 * Data per update (upload + download) and an upper bound per day: `updatesPerDay` updates, each
 * with one download of the global weights (a download is skipped when the version is unchanged).
 */
export function bandwidthLine(t: ServerStatus['transfer'], updatesPerDay: number | null): string {
  if (!t) return 'Unknown until the server tells (it is shown here after the first update).';
  const per = `Each update sends about ${formatBytes(t.updateBytes)} and downloads up to ${formatBytes(t.downloadBytes)} of model weights.`;
  if (updatesPerDay === null) return per;
  return `${per} At ${Math.round(updatesPerDay)} updates a day that is at most ${formatBytes(updatesPerDay * (t.updateBytes + t.downloadBytes))} a day.`;
}
