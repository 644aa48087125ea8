/**
 * The training recipe bench:quality measures and `npm start` uses (docs/quality.md says how each
 * choice was reached): Adam 1e-3 with 5% linear warm-up and cosine decay, batch 32, the registry's
 * method defaults (SimCLR τ = 0.5, 2×2-grid pooled encoder), the layout-keeping grayscale view
 * (shift + erase) and the pixel-reconstruction term with λ = 100.
 */
import { GRAYSCALE_LAYOUT_VIEW, GRAYSCALE_SMALL_VIEW, type ViewOverrides } from '../../shared/augment';
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

/** λ of the reconstruction term (shared/ssl/reconstruction.ts): 10 < 100 ≈ 1000 on the peer's screen. */
export const RECON_WEIGHT = 100;

export const RECIPE: Recipe = {
  methodConfig: { view: { ...GRAYSCALE_LAYOUT_VIEW }, reconstruction: { weight: RECON_WEIGHT } },
  optimizer: { kind: 'adam', learningRate: 1e-3 },
  batch: 32,
  warmup: 0.05,
  targetMomentum: 0.99,
  seed: 1,
  localSteps: 5,
};

/**
 * The views a run may choose (`--view`): `crop`, the random resized crop of GRAYSCALE_SMALL_VIEW,
 * or `layout`, GRAYSCALE_LAYOUT_VIEW's shift + erase that keeps each garment's layout.
 */
export const VIEWS: Readonly<Record<string, Readonly<ViewOverrides>>> = { crop: GRAYSCALE_SMALL_VIEW, layout: GRAYSCALE_LAYOUT_VIEW };

/** RECIPE with the named view (one of VIEWS) and the reconstruction term's λ (0: none) at full resolution. */
export function recipeWithView(view: string, reconWeight = RECON_WEIGHT): Recipe {
  const v = VIEWS[view];
  if (!v) throw new Error(`unknown view ${view} (known: ${Object.keys(VIEWS).join(', ')})`);
  const { reconstruction: _, ...rest } = RECIPE.methodConfig;
  return { ...RECIPE, methodConfig: { ...rest, view: { ...v }, ...(reconWeight > 0 ? { reconstruction: { weight: reconWeight } } : {}) } };
}
