/**
 * The training worker's whole API: a plain object of async methods. Only numbers, plain objects
 * and transferred ArrayBuffers cross the worker boundary, never tensors. The worker entry
 * (`train-worker.ts`) exposes it with comlink; tests call it directly on the cpu backend.
 *
 *   initBackend(order)    picks the first backend that works (webgpu → webgl → wasm → cpu)
 *   init(plan)            builds the plan's SSL method on the first backend that works
 *   setWeights(glwt)      loads the global weights (online + target), GLWT-encoded
 *   train(pixels, steps)  one local round on images [n, s, s, c] uint8 RGB → metrics (resting
 *                         between steps to hold the CPU cap)
 *   getDelta()            the last round's delta (local − global, online weights), GLWT-encoded,
 *                         packed as the plan's upload asks (error feedback kept here)
 *   deltaAccepted()       the server accepted that delta: keep what its packing dropped for the next
 *                         round (error feedback)
 *   benchmark(name, probe) on a fresh worker: activates exactly `name` and times the probe step
 *   stepBenchStart(name, o), stepBenchStep()
 *                         bench:step's browser rows: on a fresh worker, activates exactly `name`
 *                         and builds the step; then times one step per call
 */
import * as tf from '@tensorflow/tfjs-core';
import { transfer } from 'comlink';
import { mulberry32 } from '../../shared/data/rng';
import type { MethodConfig, SslMethod } from '../../shared/ssl/method';
import { createMethod } from '../../shared/ssl/registry';
import { loadGlobal, runLocalRound, type OptimizerConfig } from '../../shared/train/local-round';
import { packDelta } from '../../shared/contributor/compression';
import type { UploadCompression } from '../../shared/protocol/compression';
import { decodeWeights, type CodecMeta } from '../../shared/weights/codec';
import type { WeightMap } from '../../shared/weights/weight-map';
import { groupSpecs } from '../../shared/models/weights-io';
import { DEFAULT_BACKEND_ORDER, type BackendName, type SoftwareGpu } from '../common/backend-choice';
import type { BenchProbe } from '../common/backend-bench';
import { createStepBench, stepBenchInfo, timeProbe, type ProbeTiming, type StepBench, type StepBenchInfo, type StepBenchOptions, type StepTiming } from './bench-step';
import { rest, restAfterStepMs } from './duty-cycle';
import { isSoftwareGpu } from '../../shared/backends/browser-backend';
import type { WasmParallel, WasmThreads } from '../../shared/backends/wasm/simd/browser-pool';

/** What the worker needs from the server's plan. */
export interface TrainerPlan {
  method: string;
  /** Method overrides (encoder size, head widths…); the server and every client use the same. */
  methodConfig?: Partial<MethodConfig>;
  batchSize: number;
  optimizer?: OptimizerConfig;
  /** Preferred backends, best first; the first that initialises wins. */
  backends?: BackendName[];
  softwareGpu?: SoftwareGpu;
  /** plan.compression.upload: how to pack deltas (absent: float32). */
  upload?: UploadCompression;
  /** plan.compression.positions has "bitmap": sparse positions may be written as a bitmap. */
  bitmaps?: boolean;
}

/** The person's limits on a round. */
export interface TrainLimits {
  /** Compute at most this share of the wall-clock time (duty cycle, 10–100). */
  cpuPercent?: number;
}

export interface InitResult {
  backend: string;
  inputSize: number;
  channels: number;
  /** Number of float32 values in one delta (online weights). */
  deltaValues: number;
}

export interface TrainResult {
  losses: number[];
  msPerStep: number;
  examples: number;
  backend: string;
  /** Tensors alive after the round; constant across rounds when nothing leaks. */
  numTensors: number;
}

/** Picks and initialises a tfjs backend from `order`; returns the one in use. */
export type BackendInit = (order: readonly BackendName[], softwareGpu: SoftwareGpu, threads: number, parallel?: WasmParallel) => Promise<string>;

/**
 * `restFor` is how the worker gives the core back between steps (tests record it instead of
 * sleeping); `threadsInUse` what the wasm kernels run on (browser-backend.ts's wasmThreadsInUse).
 */
export function createTrainerApi(initBackend: BackendInit, restFor: (ms: number) => Promise<void> = rest, threadsInUse: () => WasmThreads | null = () => null) {
  let method: SslMethod | null = null;
  let plan: TrainerPlan | null = null;
  let global: WeightMap | null = null;
  /** The global version `global` is (from the pulled GLWT's meta), stamped on the delta as the server's encoder does. */
  let globalVersion: number | null = null;
  let delta: WeightMap | null = null;
  /** Error feedback: what accepted uploads' packing dropped, and what the last getDelta's would. */
  let residual: WeightMap | null = null;
  let pendingResidual: WeightMap | null = null;
  let backend = '';
  let stepBench: StepBench | null = null;

  const need = <T>(v: T | null, what: string): T => {
    if (v === null) throw new Error(`trainer: ${what} first`);
    return v;
  };

  const api = {
    /** Picks the backend (once per worker); init() calls it too. Returns the backend in use. */
    async initBackend(order: readonly BackendName[] = DEFAULT_BACKEND_ORDER, softwareGpu: SoftwareGpu = 'last', threads = 1): Promise<string> {
      if (!backend) backend = await initBackend(order.length ? order : DEFAULT_BACKEND_ORDER, softwareGpu, threads);
      return backend;
    },

    /** The wasm kernels' threads and, when fewer than asked, why (null: not on wasm). */
    async wasmThreads(): Promise<WasmThreads | null> {
      return threadsInUse();
    },

    async init(p: TrainerPlan): Promise<InitResult> {
      await api.initBackend(p.backends ?? DEFAULT_BACKEND_ORDER, p.softwareGpu);
      method?.dispose();
      method = createMethod(p.method, p.methodConfig ?? {});
      plan = p;
      global = globalVersion = null;
      delta = residual = pendingResidual = null;
      const enc = (method.encoder.inputs[0].shape as (number | null)[]);
      const deltaValues = groupSpecs([method.online]).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
      return { backend, inputSize: enc[1] ?? 0, channels: enc[3] ?? 0, deltaValues };
    },

    /** Loads GLWT-encoded global weights; they must match the method's online (+ target) weights. */
    async setWeights(glwt: ArrayBuffer): Promise<{ tensors: number }> {
      const m = need(method, 'init');
      const { weights, meta } = decodeWeights(new Uint8Array(glwt), { copy: true });
      loadGlobal(m, weights); // throws WeightMismatchError naming what differs
      global = weights;
      globalVersion = typeof meta.version === 'number' ? meta.version : null;
      delta = null;
      return { tensors: weights.size };
    },

    /**
     * One local round of `steps` optimizer steps on batches sampled from `pixels`: n images of
     * [s, s, c] uint8 (RGB), row-major, s and c from the plan. The seed varies augmentation and
     * sampling between rounds. With `limits.cpuPercent` below 100 the worker rests after each step.
     */
    async train(pixels: ArrayBuffer, steps: number, seed: number, limits: TrainLimits = {}): Promise<TrainResult> {
      const m = need(method, 'init');
      const p = need(plan, 'init');
      const g = need(global, 'setWeights');
      const { inputSize: s, channels: c } = shapeOf(m);
      const per = s * s * c;
      const bytes = new Uint8Array(pixels);
      if (bytes.length === 0 || bytes.length % per !== 0) throw new Error(`trainer: ${bytes.length} bytes is not a whole number of ${s}×${s}×${c} images`);
      const n = bytes.length / per;
      const rand = mulberry32(seed);
      const batch = new Float32Array(p.batchSize * per);
      const nextBatch = (b: number) => {
        for (let i = 0; i < b; i++) {
          const src = Math.floor(rand() * n) * per;
          for (let j = 0; j < per; j++) batch[i * per + j] = bytes[src + j] / 255;
        }
        return tf.tensor4d(batch.subarray(0, b * per), [b, s, s, c]);
      };
      const cap = limits.cpuPercent ?? 100;
      const r = await runLocalRound({
        method: m, global: g, steps, batchSize: p.batchSize, nextBatch, seed, optimizer: p.optimizer,
        afterStepRest: cap < 100 ? (ms) => restFor(restAfterStepMs(ms, cap)) : undefined,
      });
      delta = r.delta;
      return { losses: r.metrics.losses, msPerStep: r.metrics.msPerStep, examples: r.metrics.examples, backend: r.metrics.backend, numTensors: tf.memory().numTensors };
    },

    /** The last round's delta, GLWT-encoded (ready to send), transferred (not copied) to the caller. */
    async getDelta(): Promise<ArrayBuffer> {
      const d = need(delta, 'train');
      const meta: CodecMeta = globalVersion === null ? {} : { baseVersion: globalVersion };
      const packed = packDelta(d, residual, plan?.upload, meta, plan?.bitmaps ?? false);
      pendingResidual = packed.residual;
      const buf = packed.bytes.buffer as ArrayBuffer;
      return transfer(buf, [buf]);
    },

    /** The last delta was accepted: its packing's error is what the server still lacks. */
    async deltaAccepted(): Promise<void> {
      residual = pendingResidual;
      pendingResidual = null;
    },

    /**
     * The Automatic choice's micro-benchmark (common/backend-bench.ts) on backend `name` alone:
     * throws when it cannot be initialised here. No step is started that would not end within
     * `budgetMs` (from the call). Only on a fresh worker, which is ended afterwards.
     */
    async benchmark(name: BackendName, probe: BenchProbe, budgetMs?: number): Promise<ProbeTiming> {
      if (backend) throw new Error(`trainer: benchmark needs a fresh worker (this one is on ${backend})`);
      const t0 = performance.now();
      backend = await initBackend([name], 'allow', 1);
      if (backend !== name) throw new Error(`${name} is not available (got ${backend})`);
      return timeProbe(probe, (budgetMs ?? Infinity) - (performance.now() - t0));
    },

    /** Whether the GPU behind `name` is emulated on the CPU; activates nothing (a fresh worker stays fresh). */
    async softwareGpu(name: 'webgpu' | 'webgl'): Promise<boolean> {
      return isSoftwareGpu(name);
    },

    /**
     * bench:step's step (bench/step/chromium-backends.ts) on backend `name` alone: throws when it
     * cannot be initialised here. A later call with the same backend replaces the step (another
     * method); only on a worker that does not train, ended afterwards.
     */
    async stepBenchStart(name: BackendName, o: StepBenchOptions): Promise<StepBenchInfo> {
      if (method || (backend && !stepBench)) throw new Error(`trainer: the step bench needs a fresh worker (this one is on ${backend})`);
      if (!backend) backend = await initBackend([name], 'allow', o.threads ?? 1, o.parallel);
      if (backend !== name) throw new Error(`${name} is not available (got ${backend})`);
      stepBench?.dispose();
      stepBench = null;
      stepBench = createStepBench(o);
      return { ...(await stepBenchInfo()), wasmThreads: threadsInUse() };
    },

    async stepBenchStep(): Promise<StepTiming> {
      return need(stepBench, 'stepBenchStart').step();
    },

    async backendInUse(): Promise<string> {
      return backend;
    },

    async dispose(): Promise<void> {
      method?.dispose();
      stepBench?.dispose();
      method = plan = global = delta = globalVersion = residual = pendingResidual = stepBench = null;
    },
  };
  return api;
}

function shapeOf(m: SslMethod): { inputSize: number; channels: number } {
  const shape = m.encoder.inputs[0].shape as (number | null)[];
  return { inputSize: shape[1] ?? 0, channels: shape[3] ?? 0 };
}

export type TrainerApi = ReturnType<typeof createTrainerApi>;
