/**
 * Learning-rate schedules: linear warm-up then cosine decay (Goyal et al. 2017, "Accurate, Large
 * Minibatch SGD", §2.2 gradual warm-up; Loshchilov & Hutter 2017, "SGDR", eq. 5 cosine annealing
 * without restarts) — the schedule of SimCLR (Chen et al. 2020, §B.1: "linear warmup for the first
 * 10 epochs, and decay the learning rate with the cosine decay schedule without restarts").
 */
import type * as tf from '@tensorflow/tfjs-core';

export interface WarmupCosine {
  /** Peak learning rate, reached at the end of the warm-up. */
  peak: number;
  warmupSteps: number;
  /** Step at which the cosine reaches `floor`; later steps stay at `floor`. */
  totalSteps: number;
  /** Final learning rate as a fraction of `peak`. Default 0. */
  floor?: number;
}

/** The learning rate of (0-based) step `step`. */
export function warmupCosineRate(step: number, s: WarmupCosine): number {
  if (!(s.peak > 0) || !(s.totalSteps >= 1) || !(s.warmupSteps >= 0)) throw new Error(`bad schedule ${JSON.stringify(s)}`);
  const floor = (s.floor ?? 0) * s.peak;
  if (step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const t = Math.min(1, (step - s.warmupSteps) / span);
  return floor + 0.5 * (s.peak - floor) * (1 + Math.cos(Math.PI * t));
}

/**
 * Sets the step size of a tfjs optimizer in place. tfjs's Adam, SGD and momentum optimizers read
 * their `learningRate` field at every `applyGradients`, but type it `protected`.
 */
export function setLearningRate(optimizer: tf.Optimizer, rate: number): void {
  const o = optimizer as unknown as { learningRate?: number };
  if (typeof o.learningRate !== 'number') throw new Error(`${optimizer.getClassName()} has no settable learning rate`);
  o.learningRate = rate;
}
