/**
 * Compressed updates and downloads in the plan: which GLWT dtypes the server decodes (all of
 * shared/weights/pack.ts: float32, float16, int8 with per-block scales, sparse top-k), what it asks
 * contributors to upload (packed with client-side error feedback, shared/federation/
 * error-feedback.ts), and which forms `weights:pull` can answer in: float32 or float16, whole or
 * as the difference from a version the client already holds (`since`).
 *
 * Why float16 is fine for a difference but not the default for whole weights: the rounding error
 * of float16 is relative to the magnitude sent, and a version-to-version difference is orders of
 * magnitude smaller than the weights themselves.
 */
import { z } from 'zod';
import type { WeightMap } from '../weights/weight-map';

export const WireDtype = z.enum(['float32', 'float16', 'int8']);
export type WireDtype = z.infer<typeof WireDtype>;

export const UploadCompression = z.object({
  dtype: WireDtype,
  /** int8: values per scale. */
  block: z.number().int().positive().max(1 << 20).optional(),
  /** Fraction of values kept by magnitude (sparse top-k); absent = dense. */
  topK: z.number().gt(0).max(1).optional(),
  /** Keep what the packing dropped and add it to the next update (EF-SGD). */
  errorFeedback: z.boolean(),
});
export type UploadCompression = z.infer<typeof UploadCompression>;

export const Compression = z.object({
  /** Delta dtypes the server decodes. */
  accepts: z.array(WireDtype),
  /** Whether sparse (top-k) deltas are accepted. */
  sparse: z.boolean(),
  /**
   * How a sparse delta's positions may be written (GLWT format 3 adds "bitmap"); absent, from
   * older servers: "indices" only.
   */
  positions: z.array(z.enum(['indices', 'bitmap'])).optional(),
  /** How the server asks contributors to upload. */
  upload: UploadCompression,
  /** dtypes `weights:pull` can be answered in. */
  downloads: z.array(z.enum(['float32', 'float16'])),
  /** Whether `weights:pull` answers `since: v` with the difference from version v. */
  diffs: z.boolean(),
});
export type Compression = z.infer<typeof Compression>;

/** How to pull: the answer's dtype, and a version the caller holds to receive only the difference from. */
export interface PullOptions {
  dtype?: 'float32' | 'float16';
  base?: { version: number; weights: WeightMap };
}

/**
 * The default upload, chosen from bench:compression (SimCLR, 8 versions × 2 clients, same seeds,
 * kNN against float32's 63.35% over seeds 1 and 2): int8 top-10% + error feedback is the packing
 * that meets issue 14's goal — kNN 63.35% (−0.4 and +0.4 points on the two seeds). Dense int8 + EF
 * scored higher (64.9%) but is 25.5% of the bytes (per-block scales and the header put it just
 * above a quarter); top-1% + EF lost 3.7 points; float16 62.4% at 50%. Its trajectory differs from
 * float32's (final weights ≈ 110% of float32's whole movement away, dense int8 ≈ 14%), so
 * `--upload int8` is the conservative choice where bandwidth allows.
 * Bytes of the default BYOL model's upload: 12.7% of float32 with uint32 positions, 5.8% since
 * positions are a bitmap (GLWT format 3). Top-25% with a bitmap would be 9.6% and keeps more
 * of a short federated run's quality (docs/quality.md: 97.4% of centralized kNN after 10 rounds
 * against 95.6%), but the server's robust fold then does 2.5× the work per update: 161–180
 * accepted updates/s in bench:aggregate against 300–370 for top-10%, below issue 14's 200.
 */
export const DEFAULT_UPLOAD: UploadCompression = { dtype: 'int8', block: 256, topK: 0.1, errorFeedback: true };
export const FP32_UPLOAD: UploadCompression = { dtype: 'float32', errorFeedback: false };

/**
 * Parses an upload spec as the CLI takes it: `fp32`, `fp16`, `int8`, `int8:block=128`,
 * `int8:topk=0.01`, `fp32:topk=0.01`, `…:noef`. Throws a readable error otherwise.
 */
export function parseUploadSpec(spec: string): UploadCompression {
  const [kind, ...opts] = spec.trim().toLowerCase().split(':');
  const dtype = ({ fp32: 'float32', float32: 'float32', fp16: 'float16', float16: 'float16', int8: 'int8' } as const)[kind];
  if (!dtype) throw new Error(`unknown upload compression '${kind}' (fp32, fp16 or int8)`);
  const out: UploadCompression = { dtype, errorFeedback: dtype !== 'float32' };
  for (const o of opts) {
    const [k, v] = o.split('=');
    if (k === 'noef') out.errorFeedback = false;
    else if (k === 'block' && dtype === 'int8' && Number.isSafeInteger(Number(v)) && Number(v) >= 1) out.block = Number(v);
    else if (k === 'topk' && Number(v) > 0 && Number(v) <= 1) {
      out.topK = Number(v);
      out.errorFeedback = true;
    } else throw new Error(`bad upload compression option '${o}' in '${spec}'`);
  }
  if (dtype === 'int8') out.block ??= 256;
  return UploadCompression.parse(out);
}
