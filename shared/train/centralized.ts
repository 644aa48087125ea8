/**
 * Centralized training that can stop and resume between evaluations: one method, one optimizer
 * whose moments persist across calls (trainCentralized in local-round.ts starts a fresh optimizer
 * per call, which a learning curve sampled every few hundred steps must not do), the learning rate
 * following a warm-up + cosine schedule over the whole run, the target network EMA'd every step.
 * Used by bench:quality and `npm run pretrain`-style measurements.
 */
import * as tf from '@tensorflow/tfjs-core';
import { emaTargetInPlace } from '../ssl/momentum';
import type { SslMethod } from '../ssl/method';
import { makeAuxiliaryOptimizers, makeOptimizer, mainVariables, trainStep, type OptimizerConfig } from './local-round';
import { setLearningRate, warmupCosineRate, type WarmupCosine } from './lr-schedule';

export interface CentralizedTrainerOptions {
  method: SslMethod;
  optimizer: OptimizerConfig;
  /** Warm-up + cosine over the run; absent: the optimizer's constant rate. */
  schedule?: Omit<WarmupCosine, 'peak'>;
  /** EMA momentum of the target network after each step (ignored by methods without one). */
  targetMomentum: number;
  /** Seeds the augmentations: step i uses seed + i. */
  seed: number;
}

export class CentralizedTrainer {
  /** Steps taken so far. */
  step = 0;
  readonly losses: number[] = [];
  private readonly optimizer: tf.Optimizer;
  private readonly aux: tf.Optimizer[];
  private readonly vars: tf.Variable[];

  constructor(private readonly o: CentralizedTrainerOptions) {
    this.optimizer = makeOptimizer(o.optimizer);
    this.aux = makeAuxiliaryOptimizers(o.method, o.optimizer);
    this.vars = mainVariables(o.method);
  }

  /** The learning rate the next step will use. */
  rate(): number {
    return this.o.schedule ? warmupCosineRate(this.step, { ...this.o.schedule, peak: this.o.optimizer.learningRate }) : this.o.optimizer.learningRate;
  }

  /** Trains `steps` steps on batches from `nextBatch` (the trainer disposes them). Returns mean loss. */
  train(steps: number, batchSize: number, nextBatch: (b: number) => tf.Tensor4D, onStep?: (step: number, loss: number) => void): number {
    let sum = 0;
    for (let i = 0; i < steps; i++) {
      const rate = this.rate();
      setLearningRate(this.optimizer, rate);
      for (const a of this.aux) setLearningRate(a, rate);
      const images = nextBatch(batchSize);
      let loss: number;
      try {
        loss = trainStep(this.o.method, this.optimizer, this.vars, images, this.o.seed + this.step, this.o.optimizer.weightDecay ?? 0, rate, this.aux);
      } finally {
        images.dispose();
      }
      if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${this.step}`);
      emaTargetInPlace(this.o.method, this.o.targetMomentum);
      this.losses.push(loss);
      sum += loss;
      this.step++;
      onStep?.(this.step, loss);
    }
    return sum / Math.max(1, steps);
  }

  dispose(): void {
    this.optimizer.dispose();
    for (const a of this.aux) a.dispose();
  }
}
