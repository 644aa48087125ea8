/**
 * Error feedback for compressed updates (EF-SGD: Seide et al. 2014, "1-bit stochastic gradient
 * descent and its application to data-parallel distributed training of speech DNNs";
 * Karimireddy et al. 2019, "Error Feedback Fixes SignSGD and other Gradient Compression Schemes").
 * A biased compressor C (int8, top-k: shared/weights/pack.ts) drops part of every update; the
 * client keeps what was dropped, e = (Δ + e) − C(Δ + e), and adds it to its next update, so over
 * rounds the server receives everything the client computed, only later.
 *
 * Pure: `compressWithFeedback` returns the packed update and the new residual; the caller commits
 * the residual only once the update was accepted (a rejected update delivered nothing, so the old
 * residual still describes what the server is missing from earlier rounds).
 */
import { packTensor, unpackTensor, type PackOptions, type PackedTensor } from '../weights/pack';
import type { WeightMap } from '../weights/weight-map';

export interface FeedbackResult {
  packed: Map<string, PackedTensor>;
  /** What this packing dropped, to add to the next update. */
  residual: WeightMap;
  /** ‖residual‖₂ / ‖Δ + e‖₂: the fraction of the corrected update held back. */
  relativeError: number;
}

export function compressWithFeedback(delta: WeightMap, residual: WeightMap | null, o: PackOptions): FeedbackResult {
  const packed = new Map<string, PackedTensor>();
  const next: WeightMap = new Map();
  let err2 = 0;
  let all2 = 0;
  for (const [name, t] of delta) {
    const e = residual?.get(name);
    const corrected = new Float32Array(t.data);
    if (e && e.data.length === corrected.length) for (let i = 0; i < corrected.length; i++) corrected[i] += e.data[i];
    const p = packTensor(corrected, t.shape, o);
    const sent = unpackTensor(p);
    const left = new Float32Array(corrected.length);
    for (let i = 0; i < left.length; i++) {
      left[i] = corrected[i] - sent[i];
      err2 += left[i] * left[i];
      all2 += corrected[i] * corrected[i];
    }
    packed.set(name, p);
    next.set(name, { shape: [...t.shape], data: left });
  }
  return { packed, residual: next, relativeError: all2 > 0 ? Math.sqrt(err2 / all2) : 0 };
}
