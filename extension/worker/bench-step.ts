/**
 * The backend micro-benchmark's inside: on the active backend, build the probe's method, take one
 * untimed warm-up step (shader compilation, weight packing), then time `steps` real optimizer
 * steps on random images and report the fastest. Runs in a fresh training worker per backend
 * (offscreen/measure-backends.ts), so no backend's state colours another's timing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createMethod } from '../../shared/ssl/registry';
import { DEFAULT_OPTIMIZER, mainVariables, makeAuxiliaryOptimizers, makeOptimizer, trainStepTensor } from '../../shared/train/local-round';
import type { BenchProbe } from '../common/backend-bench';

export interface ProbeTiming {
  backend: string;
  /** Fastest timed step. */
  msPerStep: number;
  /** Warm-up step (compilation included). */
  firstStepMs: number;
  loss: number;
}

export async function timeProbe(probe: BenchProbe): Promise<ProbeTiming> {
  const method = createMethod(probe.method);
  const optimizer = makeOptimizer(DEFAULT_OPTIMIZER);
  const aux = makeAuxiliaryOptimizers(method, DEFAULT_OPTIMIZER);
  const vars = mainVariables(method);
  const [, s, , c] = method.encoder.inputs[0].shape as number[];
  const times: number[] = [];
  let loss = NaN;
  try {
    for (let i = 0; i <= probe.steps; i++) {
      const t0 = performance.now();
      const images = tf.randomUniform([probe.batchSize, s, s, c], 0, 1, 'float32', i + 1) as tf.Tensor4D;
      const l = trainStepTensor(method, optimizer, vars, images, i);
      images.dispose();
      // The asynchronous read waits for the GPU queue, so the step's whole work is timed.
      loss = (await l.data())[0];
      l.dispose();
      times.push(performance.now() - t0);
    }
  } finally {
    optimizer.dispose();
    for (const a of aux) a.dispose();
    method.dispose();
  }
  if (!Number.isFinite(loss)) throw new Error(`the probe's loss was ${loss} on ${tf.getBackend()}`);
  return { backend: tf.getBackend(), msPerStep: Math.min(...times.slice(1)), firstStepMs: times[0], loss };
}
