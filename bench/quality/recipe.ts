/**
 * The training recipe bench:quality measures (docs/quality.md says how each choice was reached):
 * Adam 1e-3 with 5% linear warm-up and cosine decay, batch 32, the registry's method defaults
 * (SimCLR τ = 0.5, 2×2-grid pooled encoder) and the grayscale small-image views.
 */
import { GRAYSCALE_SMALL_VIEW } from '../../shared/augment';
import type { MethodConfig } from '../../shared/ssl/method';
import type { OptimizerConfig } from '../../shared/train/local-round';

export interface Recipe {
  methodConfig: Partial<MethodConfig>;
  optimizer: OptimizerConfig;
  batch: number;
  /** Warm-up as a fraction of the run's steps. */
  warmup: number;
  /** EMA of the target for methods that do not name one (BYOL). */
  targetMomentum: number;
  seed: number;
  /** Federated: local steps per round. */
  localSteps: number;
}

export const RECIPE: Recipe = {
  methodConfig: { view: { ...GRAYSCALE_SMALL_VIEW } },
  optimizer: { kind: 'adam', learningRate: 1e-3 },
  batch: 32,
  warmup: 0.05,
  targetMomentum: 0.99,
  seed: 1,
  localSteps: 5,
};
