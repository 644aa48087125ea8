/**
 * Learning curves of bench:quality: examples seen → the protocol's probes (shared/eval/protocol.ts),
 * one curve per (method, setting). A run trains towards the next checkpoint, evaluates there, and
 * stops early once its share of the time budget is spent (the curve then ends where it got to).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { EvalSet } from '../../shared/eval/evaluate';
import { pairedDifference, type PairedDifference } from '../../shared/eval/paired';
import { probeEncoder } from '../../shared/eval/protocol';

export interface CurvePoint {
  examples: number;
  knn_top1: number;
  linear_1pct?: number;
  linear_10pct?: number;
  embedding_std: number;
  /** kNN against raw pixels' on the same queries, paired query by query (shared/eval/paired.ts). */
  knn_vs_raw?: PairedDifference;
  /** Wall seconds of training (not evaluation) up to this point. */
  trainSeconds: number;
}

export interface Curve {
  method: string;
  /** 'centralized', 'federated IID', 'federated non-IID α=0.5', 'PyTorch peer', … */
  setting: string;
  points: CurvePoint[];
  /** Why the curve ends where it does, when it ends before the last checkpoint. */
  stopped?: string;
  notes?: string;
}

export interface CurveContext {
  set: EvalSet;
  checkpoints: number[];
  /** This run's time share; checked after each checkpoint. */
  deadline: number;
  linear: boolean;
  log: (line: string) => void;
  /** Raw pixels' kNN prediction per query, to pair every point's with. */
  rawKnn?: Int32Array;
}

export function evaluatePoint(encoder: LayersModel, ctx: CurveContext, examples: number, trainSeconds: number): CurvePoint {
  let predictions: Int32Array | undefined;
  const r = probeEncoder(encoder, ctx.set, { linear: ctx.linear, onKnnPredictions: (p) => (predictions = p) });
  const paired = ctx.rawKnn && predictions ? { knn_vs_raw: pairedDifference(predictions, ctx.rawKnn, ctx.set.test.labels) } : {};
  return { examples, ...r, ...paired, trainSeconds };
}

const pct = (v: number | undefined) => (v === undefined ? '  —  ' : `${(v * 100).toFixed(1)}%`);

export function pointLine(c: Pick<Curve, 'method' | 'setting'>, p: CurvePoint): string {
  return `${c.method.padEnd(7)} ${c.setting.padEnd(26)} ${String(p.examples).padStart(7)} ex  kNN ${pct(p.knn_top1)}  1% ${pct(p.linear_1pct)}  10% ${pct(p.linear_10pct)}  std ${p.embedding_std.toFixed(3)}${p.knn_vs_raw ? `  kNN vs raw ${vsRaw(p.knn_vs_raw)}` : ''}  (${p.trainSeconds.toFixed(0)} s training)`;
}

const vsRaw = (d: PairedDifference) => `${d.diff >= 0 ? '+' : ''}${(d.diff * 100).toFixed(2)} (paired z ${d.z.toFixed(1)})`;

/**
 * Drives one curve: `advance(to)` trains until `to` examples have been seen and returns the number
 * actually reached; the encoder is evaluated at every checkpoint until the deadline passes.
 */
export async function runCurve(
  curve: Curve, ctx: CurveContext, encoder: () => LayersModel, advance: (to: number) => Promise<number>,
): Promise<Curve> {
  let trainSeconds = 0;
  for (const target of ctx.checkpoints) {
    const t0 = performance.now();
    const reached = target === 0 ? 0 : await advance(target);
    trainSeconds += (performance.now() - t0) / 1000;
    const p = evaluatePoint(encoder(), ctx, reached, trainSeconds);
    curve.points.push(p);
    ctx.log(pointLine(curve, p));
    if (Date.now() > ctx.deadline && target !== ctx.checkpoints[ctx.checkpoints.length - 1]) {
      curve.stopped = `time share spent after ${reached} examples`;
      break;
    }
  }
  return curve;
}

/**
 * The point of a curve taken at about `examples`: federated curves advance a whole round at a time
 * (clients × local steps × batch = 1,280 examples by default), so they land at 5,120 where the
 * centralized curve lands at 4,992; within 5% (and one batch) counts as the same checkpoint.
 */
export function pointNear<P extends { examples: number }>(points: readonly P[], examples: number): P | undefined {
  const tolerance = 0.05 * examples + 16;
  let best: P | undefined;
  for (const p of points) {
    const d = Math.abs(p.examples - examples);
    if (d <= tolerance && (!best || d < Math.abs(best.examples - examples))) best = p;
  }
  return best;
}
