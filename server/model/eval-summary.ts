/**
 * Reading the evaluator's metrics (the `evals` table, /api/status `eval`) for people: each probe
 * with the encoder's score beside the raw-pixel and random-init baselines on the same split.
 *
 * Metric names (the shared contract): `knn_top1` (k = 20 cosine kNN, exp(s/0.07) votes),
 * `linear_1pct`, `linear_10pct`, each with `_raw_pixels` and `_random_init` variants, and
 * `embedding_std`. Older runs recorded `knn` and `embeddingStd`; they are read as the same. Any
 * of them may be absent: readers show "not evaluated" and never fail.
 */

export interface ProbeRow {
  /** Metric name of the encoder's score. */
  key: string;
  label: string;
  encoder: number | null;
  rawPixels: number | null;
  randomInit: number | null;
}

export interface Evaluation {
  version: number;
  at: number;
  metrics: Record<string, number>;
  /** What the scores were measured on, e.g. { bank: 5000, queries: 1000, subset: true }. */
  split?: Record<string, unknown>;
}

const PROBES: Array<{ key: string; label: string; legacy?: string }> = [
  { key: 'knn_top1', label: 'kNN top-1 (k = 20, cosine)', legacy: 'knn' },
  { key: 'linear_1pct', label: 'Linear probe, 1% of labels' },
  { key: 'linear_10pct', label: 'Linear probe, 10% of labels' },
];

const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The encoder's kNN top-1 accuracy under either metric name, or null. */
export function knnTop1(metrics: Record<string, number>): number | null {
  return finite(metrics.knn_top1) ?? finite(metrics.knn);
}

export function embeddingStd(metrics: Record<string, number>): number | null {
  return finite(metrics.embedding_std) ?? finite(metrics.embeddingStd);
}

/**
 * One row per probe: always kNN (all null when not evaluated), and each linear probe that has
 * any of its three numbers.
 */
export function probeRows(metrics: Record<string, number> | null | undefined): ProbeRow[] {
  const m = metrics ?? {};
  return PROBES.map((p) => ({
    key: p.key,
    label: p.label,
    encoder: finite(m[p.key]) ?? (p.legacy ? finite(m[p.legacy]) : null),
    rawPixels: finite(m[`${p.key}_raw_pixels`]),
    randomInit: finite(m[`${p.key}_random_init`]),
  })).filter((r) => r.key === 'knn_top1' || r.encoder !== null || r.rawPixels !== null || r.randomInit !== null);
}

/** 0.7123 → "71.2%"; null → "not evaluated". */
export function percent(v: number | null): string {
  return v === null ? 'not evaluated' : `${(v * 100).toFixed(1)}%`;
}

/** "5,000 bank / 1,000 queries, a subset" from a split object; '' when there is none. */
export function describeSplit(split: Record<string, unknown> | undefined): string {
  if (!split) return '';
  const n = (k: string) => (typeof split[k] === 'number' ? (split[k] as number).toLocaleString('en-US') : null);
  const parts = [n('bank') && `${n('bank')} bank`, n('queries') && `${n('queries')} queries`].filter(Boolean);
  const rest = Object.entries(split).filter(([k]) => !['bank', 'queries', 'subset'].includes(k)).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  const text = [...parts, ...rest].join(' / ');
  return split.subset === true ? `${text}${text ? ', ' : ''}a subset of the full protocol` : text;
}
