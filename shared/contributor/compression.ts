/**
 * The contributor's side of compressed updates and downloads (shared/protocol/compression.ts): it
 * packs each delta as the plan asks, with error feedback (shared/federation/error-feedback.ts),
 * and pulls new versions as float16 differences from the version it already holds.
 */
import { compressWithFeedback } from '../federation/error-feedback';
import type { PullOptions, UploadCompression } from '../protocol/compression';
import type { Plan } from '../protocol/messages';
import { encodePacked, encodeWeights, type CodecMeta } from '../weights/codec';
import type { WeightMap } from '../weights/weight-map';

export interface PackedUpload {
  bytes: Uint8Array;
  /** The residual to keep once this upload is accepted (null: no error feedback). */
  residual: WeightMap | null;
}

/** Encodes `delta` as the plan's upload asks (float32 when it asks nothing or compression is off). */
export function packUpload(delta: WeightMap, residual: WeightMap | null, plan: Plan, baseVersion: number, enabled = true): PackedUpload {
  return packDelta(delta, residual, enabled ? plan.compression?.upload : undefined, { baseVersion }, readsBitmaps(plan));
}

/** Whether the plan's server reads sparse positions written as a bitmap (GLWT format 3). */
export function readsBitmaps(plan: Plan): boolean {
  return plan.compression?.positions?.includes('bitmap') ?? false;
}

/**
 * Encodes `delta` packed as `up` asks (float32 when absent), with `residual` fed back, positions
 * as a bitmap where smaller when the server reads them. The extension's worker packs with this too.
 */
export function packDelta(delta: WeightMap, residual: WeightMap | null, up: UploadCompression | undefined, meta: CodecMeta, bitmaps: boolean): PackedUpload {
  if (!up || (up.dtype === 'float32' && !up.topK)) return { bytes: encodeWeights(delta, { meta }), residual: null };
  const r = compressWithFeedback(delta, up.errorFeedback ? residual : null, { dtype: up.dtype, block: up.block, topK: up.topK });
  return { bytes: encodePacked(r.packed, meta, { bitmaps }), residual: up.errorFeedback ? r.residual : null };
}

/** How to pull the next version: a float16 difference from `held` when the server offers it. */
export function downloadForm(plan: Plan, held: { version: number; weights: WeightMap } | null, enabled = true): PullOptions {
  const c = plan.compression;
  if (!enabled || !held || !c?.diffs || !c.downloads.includes('float16')) return {};
  return { dtype: 'float16', base: held };
}
