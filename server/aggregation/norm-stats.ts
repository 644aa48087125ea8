/**
 * The norm guard's memory: recent accepted norms per contributor, so that one contributor counts
 * once in the statistic the guard compares a delta with, however many updates it sends.
 *
 *   reference = median over contributors c of ( median of c's last `perKey` norms )
 *
 * With a single window over all updates (the old guard), 33 deltas of norm ~1e-9 from one
 * contributor dragged the window's median to ~1e-6 and every honest delta after it was clipped to
 * nothing or refused (issue 13, failure 1). Per contributor, that contributor's median is one
 * value among the others: it moves the reference no more than any one honest contributor does —
 * the median's breakdown point is ½ of the contributors, not ½ of the updates. The guard
 * (validate.ts decideNorm) also never lets the bound fall below a floor.
 *
 * Keys are whom the server can tell apart (a token fingerprint, else the connection's address:
 * Submission.rateKey), hashed so that a checkpoint does not hold addresses. Pure functions over a
 * plain value that the checkpoint stores as it is.
 */
import { createHash } from 'node:crypto';
import { median } from './validate';

/** [key, its recent norms (oldest first)], least recently active key first. */
export type NormStats = Array<[string, number[]]>;

export interface NormStatsLimits {
  /** Norms remembered per key. */
  perKey: number;
  /** Keys remembered; the least recently active is forgotten first. */
  maxKeys: number;
}

export const DEFAULT_NORM_STATS_LIMITS: NormStatsLimits = { perKey: 8, maxKeys: 64 };

/** The statistic's key of a submitter (rate-limit key): a short hash, never the address itself. */
export function normKey(rateKey: string): string {
  return createHash('sha256').update(rateKey).digest('hex').slice(0, 16);
}

/** `stats` with `norm` recorded for `key` (a new value; `stats` is not changed). */
export function recordNorm(stats: NormStats, key: string, norm: number, l: NormStatsLimits = DEFAULT_NORM_STATS_LIMITS): NormStats {
  const own = stats.find(([k]) => k === key)?.[1] ?? [];
  const next: NormStats = stats.filter(([k]) => k !== key);
  next.push([key, [...own, norm].slice(-l.perKey)]);
  return next.slice(-l.maxKeys);
}

/** One value per contributor: the median of its recent norms (what decideNorm takes the median of). */
export function referenceNorms(stats: NormStats): number[] {
  return stats.filter(([, ns]) => ns.length > 0).map(([, ns]) => median(ns));
}

/**
 * Checkpoints written before per-contributor statistics kept one window of norms without owners:
 * it becomes a single contributor, so it counts once and cannot pin the bound.
 */
export function normStatsOfCheckpoint(meta: { normStats?: unknown; recentNorms?: unknown }): NormStats {
  if (Array.isArray(meta.normStats)) {
    return meta.normStats.filter((e): e is [string, number[]] => Array.isArray(e) && typeof e[0] === 'string' && Array.isArray(e[1]) && e[1].every((x) => typeof x === 'number'));
  }
  const legacy = Array.isArray(meta.recentNorms) ? meta.recentNorms.filter((x): x is number => typeof x === 'number') : [];
  return legacy.length ? [['legacy-window', legacy.slice(-DEFAULT_NORM_STATS_LIMITS.perKey)]] : [];
}

/** What the operator sees (admin route): contributors known, the reference and each key's median. */
export function describeNormStats(stats: NormStats): { contributors: number; reference: number | null; perContributor: Array<{ key: string; median: number; count: number }> } {
  const refs = referenceNorms(stats);
  return {
    contributors: refs.length,
    reference: refs.length ? median(refs) : null,
    perContributor: stats.map(([key, ns]) => ({ key, median: median(ns), count: ns.length })),
  };
}
