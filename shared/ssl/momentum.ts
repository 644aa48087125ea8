/** Helpers for methods with a momentum/target network (BYOL, MoCo). */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TARGET_PREFIX, type MomentumPair, type SslMethod } from './method';

/** Declares that every weight of `models` has a target twin named `target/<name>`. */
export function momentumPairsOf(models: tfl.LayersModel[]): MomentumPair[] {
  return models.flatMap((m) => m.weights.map((w) => ({ online: w.originalName, target: TARGET_PREFIX + w.originalName })));
}

/**
 * In-place EMA of the method's target variables, ξ ← m·ξ + (1 − m)·θ (BYOL eq. 1), for
 * centralized training where no server keeps the target. Federated runs use the server's
 * Float32Array version (shared/federation/ema.ts) instead.
 */
export function emaTargetInPlace(method: SslMethod, m: number): void {
  if (method.momentumPairs.length === 0) return;
  const byName = new Map<string, tfl.LayerVariable>();
  for (const g of [method.online, method.target]) for (const model of g.models) for (const w of model.weights) byName.set(g.prefix + w.originalName, w);
  tf.tidy(() => {
    for (const p of method.momentumPairs) {
      const online = byName.get(p.online)!;
      const target = byName.get(p.target)!;
      target.write(tf.add(tf.mul(target.read(), m), tf.mul(online.read(), 1 - m)));
    }
  });
}

/** Copies online weights into their target twins (BYOL initialises ξ = θ). */
export function syncTargetToOnline(method: SslMethod): void {
  emaTargetInPlace(method, 0);
}
