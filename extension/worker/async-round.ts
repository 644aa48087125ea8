/**
 * A local round that never reads GPU data synchronously. shared/train/local-round.ts reads the
 * loss and the weights with `dataSync()`; on tfjs-backend-webgpu that is a readback through an
 * OffscreenCanvas, which in a SwiftShader worker returned zeros (losses of exactly 0) and then
 * failed ("createBuffer failed … mappedAtCreation"). This is the same round built from the same
 * shared pieces (loadGlobal, mainVariables, makeOptimizer, auxiliary optimizers, weight decay,
 * afterStep), with `await tensor.data()` for every read. It also keeps the worker's event loop
 * free while the GPU works.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SslMethod } from '../../shared/ssl/method';
import {
  DEFAULT_OPTIMIZER, loadGlobal, mainVariables, makeAuxiliaryOptimizers, makeOptimizer,
  type BatchSource, type LocalRoundResult, type OptimizerConfig,
} from '../../shared/train/local-round';
import type { ModelGroup } from '../../shared/models/weights-io';
import { subtractWeights, type WeightMap } from '../../shared/weights/weight-map';

export interface AsyncRoundOptions {
  method: SslMethod;
  global: WeightMap;
  steps: number;
  batchSize: number;
  nextBatch: BatchSource;
  optimizer?: OptimizerConfig;
  seed: number;
}

export async function runLocalRoundAsync(o: AsyncRoundOptions): Promise<LocalRoundResult> {
  if (!(o.steps >= 1)) throw new Error(`steps must be ≥ 1, got ${o.steps}`);
  const oc = o.optimizer ?? DEFAULT_OPTIMIZER;
  loadGlobal(o.method, o.global);
  const optimizer = makeOptimizer(oc);
  const aux = o.method.auxiliaryLosses ?? [];
  const auxOptimizers = makeAuxiliaryOptimizers(o.method, oc);
  const vars = mainVariables(o.method);
  const losses: number[] = [];
  const t0 = performance.now();
  try {
    for (let i = 0; i < o.steps; i++) {
      const images = o.nextBatch(o.batchSize);
      let inputs: tf.Tensor[] = [];
      try {
        inputs = o.method.prepare(images, o.seed + i);
        const loss = optimizer.minimize(() => o.method.loss(inputs), true, vars)!;
        const value = (await loss.data())[0];
        loss.dispose();
        if ((oc.weightDecay ?? 0) > 0) {
          tf.tidy(() => {
            for (const v of vars) if (v.shape.length > 1) v.assign(tf.mul(v, 1 - oc.learningRate * oc.weightDecay!));
          });
        }
        aux.forEach((a, k) => auxOptimizers[k].minimize(() => a.loss(inputs), false, a.variables()));
        o.method.afterStep?.(inputs);
        if (!Number.isFinite(value)) throw new Error(`loss became ${value} at local step ${i}`);
        losses.push(value);
      } finally {
        tf.dispose(inputs);
        images.dispose();
      }
    }
  } finally {
    optimizer.dispose();
    for (const a of auxOptimizers) a.dispose();
  }
  const msPerStep = (performance.now() - t0) / o.steps;
  const local = await readWeightsAsync(o.method.online);
  const base: WeightMap = new Map([...local.keys()].map((k) => [k, o.global.get(k)!]));
  return {
    delta: subtractWeights(local, base),
    metrics: { losses, examples: o.steps * o.batchSize, msPerStep, backend: tf.getBackend() },
  };
}

/** Like shared readWeights (wire name = prefix + originalName), but reads without blocking. */
export async function readWeightsAsync(group: ModelGroup): Promise<WeightMap> {
  const out: WeightMap = new Map();
  for (const m of group.models) {
    for (const w of m.weights) {
      const name = group.prefix + w.originalName;
      if (out.has(name)) throw new Error(`duplicate weight name '${name}'`);
      out.set(name, { shape: [...w.shape] as number[], data: new Float32Array((await w.read().data()) as Float32Array) });
    }
  }
  return out;
}
