/**
 * The backend micro-benchmark's inside: on the active backend, build the probe's method, take one
 * untimed warm-up step (shader compilation, weight packing), then time `steps` real optimizer
 * steps on random images and report the fastest. Runs in a fresh training worker per backend
 * (offscreen/measure-backends.ts), so no backend's state colours another's timing.
 * Also bench:step's step, driven one step at a time from Node (createStepBench).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { isSoftwareGpu } from '../../shared/backends/browser-backend';
import { hasRelaxedSimd, simdFileName } from '../../shared/backends/wasm/simd/module';
import { simdKernelsFor } from '../../shared/backends/wasm/simd/tfjs-binding';
import type { WasmParallel, WasmThreads } from '../../shared/backends/wasm/simd/browser-pool';
import type { MethodConfig } from '../../shared/ssl/method';
import { createMethod } from '../../shared/ssl/registry';
import { withSeededInit } from '../../shared/models/seeded-init';
import { DEFAULT_OPTIMIZER, mainVariables, makeAuxiliaryOptimizers, makeOptimizer, trainStepTensor } from '../../shared/train/local-round';
import type { BenchProbe } from '../common/backend-bench';
import { activeEncoderShards } from '../../shared/parallel/patch-encoder-data-parallel';

export interface ProbeTiming {
  backend: string;
  /** Fastest timed step; null when the budget ran out after the warm-up (see `stopped`). */
  msPerStep: number | null;
  /** Warm-up step (compilation included). */
  firstStepMs: number;
  loss: number;
  /** Why fewer than `probe.steps` steps were timed: the next one would not have fitted the budget. */
  stopped?: string;
}

/**
 * Times the probe within `budgetMs`: a step is started only when the one before says it fits in
 * what is left, so the probe ends between steps instead of being terminated in the middle of one
 * (a stopped GPU step keeps the GPU process busy with its queued work long after).
 */
export async function timeProbe(probe: BenchProbe, budgetMs = Infinity): Promise<ProbeTiming> {
  const method = createMethod(probe.method);
  const optimizer = makeOptimizer(DEFAULT_OPTIMIZER);
  const aux = makeAuxiliaryOptimizers(method, DEFAULT_OPTIMIZER);
  const vars = mainVariables(method);
  const [, s, , c] = method.encoder.inputs[0].shape as number[];
  const times: number[] = [];
  let loss = NaN;
  let stopped: string | undefined;
  const start = performance.now();
  try {
    for (let i = 0; i <= probe.steps; i++) {
      const last = times[times.length - 1];
      if (last !== undefined && performance.now() - start + last > budgetMs) {
        stopped = `stopped before step ${i + 1} of ${probe.steps + 1}: the last took ${Math.round(last)} ms, ${Math.round(budgetMs - (performance.now() - start))} ms were left`;
        break;
      }
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
  const timed = times.slice(1);
  return { backend: tf.getBackend(), msPerStep: timed.length ? Math.min(...timed) : null, firstStepMs: times[0], loss, ...(stopped ? { stopped } : {}) };
}

/** bench:step's browser rows (bench/step/chromium-backends.ts): the step Node's rows time. */
export interface StepBenchOptions {
  method: string;
  batch: number;
  /** Method overrides (the tests' tiny encoder); bench:step uses the registry's defaults. */
  methodConfig?: Partial<MethodConfig>;
  /** Threads for the wasm kernels (default 1; see browser-backend.ts). */
  threads?: number;
  /** How more than one thread is used (default: the extension's, 'data'). */
  parallel?: WasmParallel;
  /** Seeds the initial weights (tests compare two workers' losses); absent: random. */
  initSeed?: number;
}

export interface StepBenchInfo {
  backend: string;
  /** The Glimpse SIMD kernel file bound to the wasm backend, or null (XNNPACK-based fallbacks). */
  simd: string | null;
  /** The GPU behind webgl/webgpu is emulated on the CPU (SwiftShader, llvmpipe). */
  softwareGpu?: boolean;
  crossOriginIsolated: boolean;
  relaxedSimd: boolean;
  /** On wasm: the kernels' threads, and why fewer than asked. */
  wasmThreads?: WasmThreads | null;
}

/** One step of the step bench: `ms` ends when the loss is read back. */
export interface StepTiming {
  ms: number;
  loss: number;
  /** Encoder passes run on shard workers so far (data-parallel); absent when there are none. */
  shardedCalls?: number;
}

export interface StepBench {
  /** One optimizer step on the fixed batch. */
  step(): Promise<StepTiming>;
  dispose(): void;
}

/**
 * As bench/step/train-steps.ts does in Node: the method with its default optimizer, one fixed
 * batch of uniform noise (seed 7) and a fresh augmentation seed per step. The loss is read with
 * `await data()`, which waits for a GPU queue to drain (a synchronous read in a webgpu worker
 * is unreliable; see trainStepTensor).
 */
export function createStepBench(o: StepBenchOptions): StepBench {
  const method = withSeededInit(o.initSeed, () => createMethod(o.method, o.methodConfig ?? {}));
  const optimizer = makeOptimizer(DEFAULT_OPTIMIZER);
  const aux = makeAuxiliaryOptimizers(method, DEFAULT_OPTIMIZER);
  const vars = mainVariables(method);
  const [, s, , c] = method.encoder.inputs[0].shape as number[];
  const x = tf.randomUniform([o.batch, s, s, c], 0, 1, 'float32', 7) as tf.Tensor4D;
  let seed = 0;
  return {
    async step() {
      const t0 = performance.now();
      const l = trainStepTensor(method, optimizer, vars, x, seed++, 0, 0, aux);
      const loss = (await l.data())[0];
      l.dispose();
      const shards = activeEncoderShards();
      return { ms: performance.now() - t0, loss, ...(shards ? { shardedCalls: shards.shardedCalls } : {}) };
    },
    dispose() {
      x.dispose();
      optimizer.dispose();
      for (const a of aux) a.dispose();
      method.dispose();
    },
  };
}

/** What the active backend runs on, for the bench's notes. */
export async function stepBenchInfo(): Promise<StepBenchInfo> {
  const backend = tf.getBackend();
  const simd = backend === 'wasm' ? simdKernelsFor(tf.backend() as unknown as BackendWasm)?.instance.variant : undefined;
  return {
    backend,
    simd: simd ? simdFileName(simd) : null,
    softwareGpu: backend === 'webgl' || backend === 'webgpu' ? await isSoftwareGpu(backend) : undefined,
    crossOriginIsolated: Boolean((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated),
    relaxedSimd: hasRelaxedSimd(),
  };
}
