/**
 * One local training round: given the global weights (online + heads + target where the method
 * has one), run K optimizer steps on batches from a source and return the delta (local − global)
 * of the online weights, plus metrics. The same code runs in Node contributors and in the
 * extension's training worker.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readWeights, readWeightsAsync, trainableVariables, writeWeights } from '../models/weights-io';
import { emaTargetInPlace, syncTargetToOnline } from '../ssl/momentum';
import type { SslMethod } from '../ssl/method';
import { subtractWeights, type WeightMap } from '../weights/weight-map';
import { FusedAdamOptimizer } from './fused-adam';

export interface OptimizerConfig {
  kind: 'adam' | 'sgd' | 'momentum';
  learningRate: number;
  /** Decoupled weight decay (AdamW-style, applied to kernels only). 0 disables it. */
  weightDecay?: number;
}

export const DEFAULT_OPTIMIZER: OptimizerConfig = { kind: 'adam', learningRate: 1e-3, weightDecay: 0 };

export function makeOptimizer(c: OptimizerConfig): tf.Optimizer {
  switch (c.kind) {
    // tf.train.adam's defaults (β1 0.9, β2 0.999, the backend's ε), fused on wasm.
    case 'adam': return new FusedAdamOptimizer(c.learningRate, 0.9, 0.999);
    case 'sgd': return tf.train.sgd(c.learningRate);
    case 'momentum': return tf.train.momentum(c.learningRate, 0.9);
    default: throw new Error(`unknown optimizer '${(c as { kind: string }).kind}'`);
  }
}

/** Images [b, s, s, c] in [0, 1]: a tensor, or a Float32Array the trainer turns into one. */
export type BatchSource = (batchSize: number) => tf.Tensor4D;

export interface RoundMetrics {
  losses: number[];
  examples: number;
  /** Mean time of a step, from its batch to its loss read back (rests and set-up excluded). */
  msPerStep: number;
  backend: string;
}

export interface LocalRoundOptions {
  method: SslMethod;
  /** Global weights: every online and (where the method has one) target weight. */
  global: WeightMap;
  steps: number;
  batchSize: number;
  nextBatch: BatchSource;
  optimizer?: OptimizerConfig;
  /** Seeds the augmentations; step i uses seed + i. */
  seed: number;
  onStep?: (step: number, loss: number, ms: number) => void;
  /**
   * Awaited after each step, given that step's compute time: a host that caps its CPU share
   * rests here (the extension's duty cycle). Time spent here is not in `msPerStep`.
   */
  afterStepRest?: (stepMs: number) => Promise<void>;
  /** The contributor's optimizer kept from earlier rounds (its config wins over `optimizer`); absent: a fresh one. */
  kept?: KeptOptimizer;
}

/**
 * A contributor's optimizer kept from round to round, as DiLoCo (Douillard et al. 2023) keeps each
 * worker's inner AdamW state across outer steps. A fresh Adam's first steps move every weight by
 * ≈ lr in the sign of one batch's gradient, however noisy that gradient is; with 5-step rounds a
 * federation then trains on little but those first steps. The moments describe the loss surface
 * near the global weights, which move little between a contributor's rounds.
 */
export class KeptOptimizer {
  readonly main: tf.Optimizer;
  readonly aux: tf.Optimizer[];
  readonly vars: tf.Variable[];

  constructor(readonly method: SslMethod, readonly config: OptimizerConfig) {
    this.main = makeOptimizer(config);
    this.aux = makeAuxiliaryOptimizers(method, config);
    this.vars = mainVariables(method);
  }

  /** Whether this optimizer can go on training `method` with `config` (else: dispose it, make another). */
  fits(method: SslMethod, config: OptimizerConfig): boolean {
    return method === this.method && JSON.stringify(config) === JSON.stringify(this.config);
  }

  dispose(): void {
    this.main.dispose();
    for (const a of this.aux) a.dispose();
  }
}

export interface LocalRoundResult {
  delta: WeightMap;
  metrics: RoundMetrics;
}

/** Loads `global` into the method's models (online and target). */
export function loadGlobal(method: SslMethod, global: WeightMap): void {
  const groups = method.target.models.length ? [method.online, method.target] : [method.online];
  writeWeights(groups, global);
}

/** Reads the method's full global-shaped weights (online + target). */
export function readGlobal(method: SslMethod): WeightMap {
  return readWeights(method.target.models.length ? [method.online, method.target] : [method.online]);
}

/** Fresh global weights for a new run: random online weights, target = online (BYOL §3.1). */
export function initialGlobalWeights(method: SslMethod): WeightMap {
  syncTargetToOnline(method);
  return readGlobal(method);
}

/**
 * The variables the main loss trains: every trainable online weight except those an auxiliary
 * objective owns (a discriminator must not be updated by the generator's loss).
 */
export function mainVariables(method: SslMethod): tf.Variable[] {
  const all = trainableVariables(method.online.models);
  const aux = method.auxiliaryLosses ?? [];
  if (aux.length === 0) return all;
  const owned = new Set(aux.flatMap((a) => a.variables()));
  return all.filter((v) => !owned.has(v));
}

/** One optimizer per auxiliary objective of the method (none for most methods). */
export function makeAuxiliaryOptimizers(method: SslMethod, c: OptimizerConfig): tf.Optimizer[] {
  return (method.auxiliaryLosses ?? []).map(() => makeOptimizer(c));
}

/**
 * One optimizer step: prepares inputs outside the gradient tape, minimises the loss, then each
 * auxiliary loss with its own optimizer, frees everything. Returns the main loss as a scalar
 * tensor that the caller reads and disposes: reading it with `await loss.data()` keeps the step
 * non-blocking on GPU backends (a synchronous readback in a webgpu worker under SwiftShader
 * returned zeros and then failed). `tf.memory().numTensors` is unchanged once it is disposed.
 */
export function trainStepTensor(method: SslMethod, optimizer: tf.Optimizer, vars: tf.Variable[], images: tf.Tensor4D, seed: number, weightDecay = 0, learningRate = 0, auxOptimizers: tf.Optimizer[] = []): tf.Scalar {
  const aux = method.auxiliaryLosses ?? [];
  if (auxOptimizers.length !== aux.length) {
    throw new Error(`${method.name}: ${aux.length} auxiliary losses but ${auxOptimizers.length} optimizers (see makeAuxiliaryOptimizers)`);
  }
  const inputs = method.prepare(images, seed);
  try {
    const loss = optimizer.minimize(() => method.loss(inputs), true, vars)!;
    if (weightDecay > 0) {
      tf.tidy(() => {
        for (const v of vars) if (v.shape.length > 1) v.assign(tf.mul(v, 1 - learningRate * weightDecay));
      });
    }
    aux.forEach((a, i) => auxOptimizers[i].minimize(() => a.loss(inputs), false, a.variables()));
    method.afterStep?.(inputs);
    return loss;
  } finally {
    tf.dispose(inputs);
  }
}

/** {@link trainStepTensor} with a synchronous read of the loss, for CPU backends (benchmarks, tests). */
export function trainStep(method: SslMethod, optimizer: tf.Optimizer, vars: tf.Variable[], images: tf.Tensor4D, seed: number, weightDecay = 0, learningRate = 0, auxOptimizers: tf.Optimizer[] = []): number {
  const loss = trainStepTensor(method, optimizer, vars, images, seed, weightDecay, learningRate, auxOptimizers);
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}

type StepLoop = Omit<LocalRoundOptions, 'global'> & {
  /** Runs after every step (centralized training's target EMA). */
  afterEachStep?: () => void;
};

/** The training loop shared by federated rounds and centralized training. */
async function runSteps(o: StepLoop): Promise<RoundMetrics> {
  if (!(o.steps >= 1)) throw new Error(`steps must be ≥ 1, got ${o.steps}`);
  if (o.kept && o.kept.method !== o.method) throw new Error('kept optimizer belongs to another method instance');
  const oc = o.kept?.config ?? o.optimizer ?? DEFAULT_OPTIMIZER;
  const optimizer = o.kept?.main ?? makeOptimizer(oc);
  const auxOptimizers = o.kept?.aux ?? makeAuxiliaryOptimizers(o.method, oc);
  const vars = o.kept?.vars ?? mainVariables(o.method);
  const losses: number[] = [];
  // The steps' own time, from batch to loss read back: not the rests, nor the set-up and disposal around them.
  let computeMs = 0;
  try {
    for (let i = 0; i < o.steps; i++) {
      const ts = performance.now();
      const images = o.nextBatch(o.batchSize);
      let lossTensor: tf.Scalar;
      try {
        lossTensor = trainStepTensor(o.method, optimizer, vars, images, o.seed + i, oc.weightDecay, oc.learningRate, auxOptimizers);
      } finally {
        images.dispose();
      }
      // The asynchronous read also yields to the event loop (socket pings, worker messages).
      const loss = (await lossTensor.data())[0];
      lossTensor.dispose();
      if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${i}`);
      losses.push(loss);
      o.afterEachStep?.();
      const stepMs = performance.now() - ts;
      computeMs += stepMs;
      o.onStep?.(i, loss, stepMs);
      if (o.afterStepRest) await o.afterStepRest(stepMs);
    }
  } finally {
    if (!o.kept) {
      optimizer.dispose();
      for (const a of auxOptimizers) a.dispose();
    }
  }
  return { losses, examples: o.steps * o.batchSize, msPerStep: computeMs / o.steps, backend: tf.getBackend() };
}

/** Loads the global weights, trains `steps` local steps, returns the online delta and metrics. */
export async function runLocalRound(o: LocalRoundOptions): Promise<LocalRoundResult> {
  loadGlobal(o.method, o.global);
  const metrics = await runSteps(o);
  const local = await readWeightsAsync([o.method.online]);
  const base: WeightMap = new Map([...local.keys()].map((name) => [name, o.global.get(name)!]));
  return { delta: subtractWeights(local, base), metrics };
}

export type CentralizedOptions = Omit<LocalRoundOptions, 'global'> & {
  /** EMA momentum of the target network, updated after every step. */
  targetMomentum: number;
};

/** Centralized training (the baseline federation is compared with): one model, target EMA each step. */
export function trainCentralized(o: CentralizedOptions): Promise<RoundMetrics> {
  return runSteps({ ...o, afterEachStep: () => emaTargetInPlace(o.method, o.targetMomentum) });
}

/** The method's loss on `images` without training (no tape, no optimizer); for evaluation and tests. */
export function evaluateLoss(method: SslMethod, images: tf.Tensor4D, seed: number): number {
  const inputs = method.prepare(images, seed);
  try {
    return tf.tidy(() => method.loss(inputs).dataSync()[0]);
  } finally {
    tf.dispose(inputs);
  }
}
