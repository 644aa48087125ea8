/**
 * Every delta is checked before it can touch anything: decodable GLWT bytes, exactly the online
 * weight names and shapes (a delta must never touch `target/…` weights: the server owns those),
 * finite values, and an L2 norm within the server's bound. Pure functions; the first failure wins.
 */
import { crc32 as nativeCrc32 } from 'node:zlib';
import { toBytes, type RejectCode } from '../../shared/protocol/messages';
import { decodeWeights, WeightCodecError, type SharedAlloc } from '../../shared/weights/codec';
import { assertSameSpecs, WeightMismatchError, type WeightMap, type WeightSpec } from '../../shared/weights/weight-map';
import { l2NormOf, scaled } from './fold';

export interface Rejection {
  code: RejectCode;
  reason: string;
  /** With 'rate_limited': ms until a submission is admitted again. */
  retryAfterMs?: number;
}

export type Checked<T> = { ok: true; value: T } | ({ ok: false } & Rejection);

/**
 * zlib's native CRC-32 (Node ≥ 20.15) where it exists: the checksum of a whole delta is the
 * largest CPU cost of accepting one, and native code runs it many times faster than the portable
 * table version the codec falls back to.
 */
const fastCrc32 = typeof nativeCrc32 === 'function' ? (b: Uint8Array) => nativeCrc32(b) >>> 0 : undefined;

/**
 * Decodes GLWT bytes into a delta with exactly `specs` (the online weights); top-k tensors stay
 * sparse. The values land in shared memory (from `alloc`, else a fresh SharedArrayBuffer), where
 * the fold worker reads them without a copy (core/fold-transfer.ts).
 */
export function decodeDelta(bytes: Uint8Array, specs: readonly WeightSpec[], alloc: SharedAlloc | true = true): Checked<WeightMap> {
  let weights: WeightMap;
  try {
    weights = decodeWeights(toBytes(bytes), { crc32: fastCrc32, sparse: true, shared: alloc }).weights;
  } catch (e) {
    if (e instanceof WeightCodecError) return { ok: false, code: 'bad_encoding', reason: e.message };
    throw e;
  }
  try {
    assertSameSpecs(weights, specs, 'delta weights');
  } catch (e) {
    if (e instanceof WeightMismatchError) return { ok: false, code: 'wrong_weights', reason: e.message };
    throw e;
  }
  return { ok: true, value: weights };
}

/**
 * ‖Δ‖₂ and the finiteness check in one pass: Σx² is finite iff every x is finite and not huge,
 * so the per-element search runs only when the sum is not finite.
 */
export function normAndFinite(map: WeightMap): Checked<number> {
  const norm = l2NormOf(map);
  if (Number.isFinite(norm)) return { ok: true, value: norm };
  const bad = firstNonFinite(map);
  if (bad) return { ok: false, code: 'not_finite', reason: `weight '${bad.name}' has ${bad.value} at index ${bad.index}` };
  return { ok: true, value: Infinity }; // finite values whose squares overflow: the norm guard rejects it
}

export function firstNonFinite(map: WeightMap): { name: string; index: number; value: number } | null {
  for (const [name, t] of map) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      // x − x is 0 for finite x and NaN for NaN/±Inf: one compare, no call.
      if (d[i] - d[i] !== 0) return { name, index: i, value: d[i] };
    }
  }
  return null;
}

export interface NormGuardConfig {
  /** Hard bound on ‖Δ‖₂, applied always (also before there is history). */
  maxNorm: number;
  /**
   * Bound relative to the reference norm: multiple × the median over contributors of each one's
   * median recent norm (norm-stats.ts: one contributor counts once).
   */
  medianMultiple: number;
  /** How many contributors the reference remembers (the least recently active is forgotten). */
  window: number;
  /** The relative bound applies once this many contributors' norms are known. */
  minHistory: number;
  /**
   * The relative bound never falls below this: a bound that tiny deltas (or many colluding
   * contributors) drag down cannot shrink an honest delta below it. Absent = 0.
   */
  floor?: number;
  /** Above the relative bound: scale the delta down to it ('clip') or refuse it ('reject'). */
  mode: 'clip' | 'reject';
}

export const DEFAULT_NORM_GUARD: NormGuardConfig = { maxNorm: 1e4, medianMultiple: 10, window: 64, minHistory: 3, floor: 1e-2, mode: 'clip' };

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export type NormDecision =
  | { action: 'accept'; norm: number }
  | { action: 'clip'; norm: number; bound: number }
  | { action: 'reject'; norm: number; bound: number; reason: string };

/**
 * Decides what to do with a delta of L2 norm `norm` given the reference norms: one per
 * contributor (norm-stats.ts referenceNorms), so `minHistory` counts contributors.
 */
export function decideNorm(norm: number, recent: readonly number[], c: NormGuardConfig): NormDecision {
  if (!(norm <= c.maxNorm)) {
    return { action: 'reject', norm, bound: c.maxNorm, reason: `delta L2 norm ${fmt(norm)} exceeds the hard bound ${fmt(c.maxNorm)}` };
  }
  if (recent.length >= c.minHistory) {
    const m = median(recent.slice(-c.window));
    const floor = c.floor ?? 0;
    const bound = Math.max(c.medianMultiple * m, floor);
    if (bound > 0 && norm > bound) {
      if (c.mode === 'clip') return { action: 'clip', norm, bound };
      const why = bound === floor && c.medianMultiple * m < floor ? `the floor ${fmt(floor)}` : `${c.medianMultiple}× the contributors' median norm ${fmt(m)}`;
      return { action: 'reject', norm, bound, reason: `delta L2 norm ${fmt(norm)} exceeds ${why}` };
    }
  }
  return { action: 'accept', norm };
}

/** Applies a norm decision: the delta unchanged, or scaled to the bound. */
export function applyNormDecision(delta: WeightMap, d: NormDecision): WeightMap {
  return d.action === 'clip' ? scaled(delta, d.bound / d.norm) : delta;
}

const fmt = (x: number) => (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : x.toFixed(4));
