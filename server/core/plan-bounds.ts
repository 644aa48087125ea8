/**
 * The range of every value an admin can set in the plan (POST /api/admin/plan) or start the server
 * with: generous, but a typo or a hostile admin session cannot push `learningRate: 1e308` or a
 * million local steps to every contributor (issue 13). docs/protocol.md lists the same ranges;
 * a value outside them is answered 400 with the field named, and refused at start.
 */
import { z } from 'zod';
import { OptimizerPlan } from '../../shared/protocol/messages';

export const PLAN_BOUNDS = {
  localSteps: { min: 1, max: 100_000 },
  batchSize: { min: 1, max: 65_536 },
  /** The contributors' local optimizer step size (Adam, SGD or momentum). */
  learningRate: { min: 1e-9, max: 10 },
  /** Decoupled weight decay per step, as a fraction of the weight. */
  weightDecay: { min: 0, max: 1 },
} as const;

const B = PLAN_BOUNDS;

/** The protocol's optimizer schema, within the bounds. */
export const BoundedOptimizerPlan = OptimizerPlan.extend({
  learningRate: z.number().min(B.learningRate.min).max(B.learningRate.max),
  weightDecay: z.number().min(B.weightDecay.min).max(B.weightDecay.max).optional(),
});

export const boundedLocalSteps = z.number().int().min(B.localSteps.min).max(B.localSteps.max);
export const boundedBatchSize = z.number().int().min(B.batchSize.min).max(B.batchSize.max);

/** The first plan value out of its range, as one line naming the field; null when all are in range. */
export function planOutOfBounds(p: { localSteps?: number; batchSize?: number; learningRate?: number; weightDecay?: number }): string | null {
  for (const k of ['localSteps', 'batchSize', 'learningRate', 'weightDecay'] as const) {
    const v = p[k];
    if (v === undefined) continue;
    const { min, max } = B[k];
    const integer = k === 'localSteps' || k === 'batchSize';
    if (!(typeof v === 'number' && v >= min && v <= max && (!integer || Number.isInteger(v)))) return `${k} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got ${v}`;
  }
  return null;
}
