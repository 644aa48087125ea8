/**
 * One local training round: given the global weights (online + heads + target where the method
 * has one), run K optimizer steps on batches from a source and return the delta (local − global)
 * of the online weights, plus metrics. The same code runs in Node contributors and in the
 * extension's training worker.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readWeights, trainableVariables, writeWeights } from '../models/weights-io';
import { emaTargetInPlace, syncTargetToOnline } from '../ssl/momentum';
import type { SslMethod } from '../ssl/method';
import { subtractWeights, type WeightMap } from '../weights/weight-map';

export interface OptimizerConfig {
  kind: 'adam' | 'sgd' | 'momentum';
  learningRate: number;
  /** Decoupled weight decay (AdamW-style, applied to kernels only). 0 disables it. */
  weightDecay?: number;
}

export const DEFAULT_OPTIMIZER: OptimizerConfig = { kind: 'adam', learningRate: 1e-3, weightDecay: 0 };

export function makeOptimizer(c: OptimizerConfig): tf.Optimizer {
  switch (c.kind) {
    case 'adam': return tf.train.adam(c.learningRate);
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
 * auxiliary loss with its own optimizer, frees everything. Returns the main loss value.
 * `tf.memory().numTensors` is unchanged after it.
 */
export function trainStep(method: SslMethod, optimizer: tf.Optimizer, vars: tf.Variable[], images: tf.Tensor4D, seed: number, weightDecay = 0, learningRate = 0, auxOptimizers: tf.Optimizer[] = []): number {
  const aux = method.auxiliaryLosses ?? [];
  if (auxOptimizers.length !== aux.length) {
    throw new Error(`${method.name}: ${aux.length} auxiliary losses but ${auxOptimizers.length} optimizers (see makeAuxiliaryOptimizers)`);
  }
  const inputs = method.prepare(images, seed);
  try {
    const loss = optimizer.minimize(() => method.loss(inputs), true, vars)!;
    const value = loss.dataSync()[0];
    loss.dispose();
    if (weightDecay > 0) {
      tf.tidy(() => {
        for (const v of vars) if (v.shape.length > 1) v.assign(tf.mul(v, 1 - learningRate * weightDecay));
      });
    }
    aux.forEach((a, i) => auxOptimizers[i].minimize(() => a.loss(inputs), false, a.variables()));
    method.afterStep?.(inputs);
    return value;
  } finally {
    tf.dispose(inputs);
  }
}

export async function runLocalRound(o: LocalRoundOptions): Promise<LocalRoundResult> {
  if (!(o.steps >= 1)) throw new Error(`steps must be ≥ 1, got ${o.steps}`);
  const oc = o.optimizer ?? DEFAULT_OPTIMIZER;
  loadGlobal(o.method, o.global);
  const optimizer = makeOptimizer(oc);
  const auxOptimizers = makeAuxiliaryOptimizers(o.method, oc);
  const vars = mainVariables(o.method);
  const losses: number[] = [];
  const t0 = performance.now();
  try {
    for (let i = 0; i < o.steps; i++) {
      const ts = performance.now();
      const images = o.nextBatch(o.batchSize);
      let loss: number;
      try {
        loss = trainStep(o.method, optimizer, vars, images, o.seed + i, oc.weightDecay, oc.learningRate, auxOptimizers);
      } finally {
        images.dispose();
      }
      if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at local step ${i}`);
      losses.push(loss);
      o.onStep?.(i, loss, performance.now() - ts);
      // Let the event loop breathe (socket pings, worker messages) between steps.
      await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    optimizer.dispose();
    for (const a of auxOptimizers) a.dispose();
  }
  const local = readWeights([o.method.online]);
  const delta = subtractWeights(local, pickOnline(o.global, local));
  return {
    delta,
    metrics: { losses, examples: o.steps * o.batchSize, msPerStep: (performance.now() - t0) / o.steps, backend: tf.getBackend() },
  };
}

function pickOnline(global: WeightMap, online: WeightMap): WeightMap {
  const out: WeightMap = new Map();
  for (const name of online.keys()) out.set(name, global.get(name)!);
  return out;
}

export interface CentralizedOptions {
  method: SslMethod;
  steps: number;
  batchSize: number;
  nextBatch: BatchSource;
  optimizer?: OptimizerConfig;
  /** EMA momentum of the target network, updated after every step. */
  targetMomentum: number;
  seed: number;
  onStep?: (step: number, loss: number, ms: number) => void;
}

/** Centralized training (the baseline federation is compared with): one model, target EMA each step. */
export async function trainCentralized(o: CentralizedOptions): Promise<RoundMetrics> {
  const oc = o.optimizer ?? DEFAULT_OPTIMIZER;
  const optimizer = makeOptimizer(oc);
  const auxOptimizers = makeAuxiliaryOptimizers(o.method, oc);
  const vars = mainVariables(o.method);
  const losses: number[] = [];
  const t0 = performance.now();
  try {
    for (let i = 0; i < o.steps; i++) {
      const ts = performance.now();
      const images = o.nextBatch(o.batchSize);
      try {
        losses.push(trainStep(o.method, optimizer, vars, images, o.seed + i, oc.weightDecay, oc.learningRate, auxOptimizers));
      } finally {
        images.dispose();
      }
      emaTargetInPlace(o.method, o.targetMomentum);
      o.onStep?.(i, losses[i], performance.now() - ts);
      await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    optimizer.dispose();
    for (const a of auxOptimizers) a.dispose();
  }
  return { losses, examples: o.steps * o.batchSize, msPerStep: (performance.now() - t0) / o.steps, backend: tf.getBackend() };
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
