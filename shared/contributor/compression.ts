/**
 * The contributor's side of compressed updates and downloads (shared/protocol/compression.ts): it
 * packs each delta as the plan asks, with error feedback (shared/federation/error-feedback.ts),
 * and pulls new versions as float16 differences from the version it already holds.
 */
import { compressWithFeedback } from '../federation/error-feedback';
import type { PullOptions } from '../protocol/compression';
import type { Plan } from '../protocol/messages';
import { encodePacked, encodeWeights } from '../weights/codec';
import type { WeightMap } from '../weights/weight-map';

export interface PackedUpload {
  bytes: Uint8Array;
  /** The residual to keep once this upload is accepted (null: no error feedback). */
  residual: WeightMap | null;
}

/** Encodes `delta` as the plan's upload asks (float32 when it asks nothing or compression is off). */
export function packUpload(delta: WeightMap, residual: WeightMap | null, plan: Plan, baseVersion: number, enabled = true): PackedUpload {
  const up = enabled ? plan.compression?.upload : undefined;
  const meta = { baseVersion };
  if (!up || (up.dtype === 'float32' && !up.topK)) return { bytes: encodeWeights(delta, { meta }), residual: null };
  const opts = { dtype: up.dtype, block: up.block, topK: up.topK };
  const r = compressWithFeedback(delta, up.errorFeedback ? residual : null, opts);
  const bitmaps = plan.compression?.positions?.includes('bitmap') ?? false;
  return { bytes: encodePacked(r.packed, meta, { bitmaps }), residual: up.errorFeedback ? r.residual : null };
}

/** How to pull the next version: a float16 difference from `held` when the server offers it. */
export function downloadForm(plan: Plan, held: { version: number; weights: WeightMap } | null, enabled = true): PullOptions {
  const c = plan.compression;
  if (!enabled || !held || !c?.diffs || !c.downloads.includes('float16')) return {};
  return { dtype: 'float16', base: held };
}
