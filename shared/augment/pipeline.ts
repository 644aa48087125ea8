import * as tf from '@tensorflow/tfjs-core';
import { randomGaussianBlur } from './blur';
import { randomColorJitter, randomGrayscale, type JitterStrengths } from './color-jitter';
import { randomHorizontalFlip } from './flip';
import { randomResizedCrop } from './random-resized-crop';
import { randomErase, randomShift } from './shift-erase';
import { deriveSeed } from './rng';
import { randomSolarize } from './solarize';

/** How to draw one view of an image: the SimCLR / BYOL augmentation family. */
export interface ViewParams {
  /** Area fraction range of the random resized crop. */
  cropScale: readonly [number, number];
  /** Aspect-ratio range of the crop; default `[3/4, 4/3]`. */
  cropRatio?: readonly [number, number];
  /** Probability of a horizontal flip. */
  flipP: number;
  /** Probability of colour jitter. */
  jitterP: number;
  /** Colour jitter strengths (see {@link JitterStrengths}). */
  jitter: JitterStrengths;
  /** Probability of converting to grayscale. */
  grayscaleP: number;
  /** Probability of Gaussian blur (σ ∈ [0.1, 2.0] px, kernel ≈ 10% of the output side). */
  blurP: number;
  /** Probability of solarization. */
  solarizeP: number;
  /** Side of the square output, or `[height, width]`. */
  outputSize: number | readonly [number, number];
  /** Largest whole-pixel translation on each axis, zero fill (layout-keeping views); default 0. */
  shiftPx?: number;
  /** Probability of erasing one rectangle (2–20% of the image) to 0; default 0. */
  eraseP?: number;
}

/**
 * BYOL's first view (Grill et al. 2020, "Bootstrap your own latent", arXiv:2006.07733, Table 6):
 * crop area in [0.08, 1], flip 0.5, colour jitter (0.4, 0.4, 0.2, 0.1) with p = 0.8, grayscale
 * 0.2, blur 1.0, solarization 0.0, 224 px. Override `outputSize` (and often `cropScale`, e.g.
 * `[0.2, 1]`) for small images: `{ ...BYOL_VIEW_1, outputSize: 32 }`.
 */
export const BYOL_VIEW_1: Readonly<ViewParams> = Object.freeze({
  cropScale: [0.08, 1.0],
  flipP: 0.5,
  jitterP: 0.8,
  jitter: Object.freeze({ brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 }),
  grayscaleP: 0.2,
  blurP: 1.0,
  solarizeP: 0.0,
  outputSize: 224,
} as const);

/** BYOL's second view (arXiv:2006.07733, Table 6): as {@link BYOL_VIEW_1} but blur 0.1, solarization 0.2. */
export const BYOL_VIEW_2: Readonly<ViewParams> = Object.freeze({ ...BYOL_VIEW_1, blurP: 0.1, solarizeP: 0.2 });

/**
 * SimCLR's view (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
 * Representations", arXiv:2002.05709, Appendix A): crop area in [0.08, 1], flip 0.5, colour
 * jitter of strength s = 1, i.e. (0.8s, 0.8s, 0.8s, 0.2s), with p = 0.8, grayscale 0.2, blur 0.5
 * (ImageNet; the paper drops blur on CIFAR-10 and uses s = 0.5 there), no solarization.
 */
export const SIMCLR_VIEW: Readonly<ViewParams> = Object.freeze({
  cropScale: [0.08, 1.0],
  flipP: 0.5,
  jitterP: 0.8,
  jitter: Object.freeze({ brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2 }),
  grayscaleP: 0.2,
  blurP: 0.5,
  solarizeP: 0.0,
  outputSize: 224,
} as const);

/**
 * SimCLR's small-image view (Chen et al. 2020, Appendix B.9, CIFAR-10): colour strength s = 0.5,
 * no Gaussian blur ("we do not use it" at 32×32), crop area floor 0.2 for 32-px objects.
 */
export const SIMCLR_SMALL_VIEW: Readonly<ViewParams> = Object.freeze({
  ...SIMCLR_VIEW,
  cropScale: [0.2, 1.0],
  jitter: Object.freeze({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }),
  blurP: 0,
  outputSize: 32,
} as const);

/**
 * Overrides of a method's views for small grayscale images (Fashion-MNIST, 28 px shown at 32):
 * crop area floor 0.7 — ImageNet's 0.08 (and CIFAR's 0.2) keeps a few pixels of a 28-px garment,
 * and the two views then share nothing to agree on; no colour jitter, grayscale or blur (there is
 * no colour, and a 3-px blur erases the texture that tells a shirt from a pullover). Measured in
 * docs/quality.md. Applied by the methods over their own views through `MethodConfig.view`.
 */
export const GRAYSCALE_SMALL_VIEW: Readonly<Partial<ViewParams>> = Object.freeze({
  cropScale: Object.freeze([0.7, 1.0]) as readonly [number, number],
  jitterP: 0,
  grayscaleP: 0,
  blurP: 0,
});

/**
 * A layout-keeping view for small grayscale images: no crop (scale and position kept), a
 * whole-pixel shift of up to ±3 px, flip 0.5, and with p = 0.5 one erased rectangle — occlusion
 * instead of rescaling. On the PyTorch peer (MoCo v2, full glimpse-fmnist-v1) it beat the crop
 * ≥ 0.3 by +0.8 kNN at 30k examples (81.85 vs 81.04%); docs/quality.md has the runs. The peer's
 * `torch_ssl.py --view shift-erase` (and recipe_sweep.py, which shares its options) draws the same family.
 */
export const GRAYSCALE_LAYOUT_VIEW: Readonly<Partial<ViewParams>> = Object.freeze({
  cropScale: Object.freeze([1, 1]) as readonly [number, number],
  shiftPx: 3,
  eraseP: 0.5,
  jitterP: 0,
  grayscaleP: 0,
  blurP: 0,
});

/** The JSON-safe subset of {@link ViewParams} a run's method config may override. */
export type ViewOverrides = Partial<Omit<ViewParams, 'outputSize' | 'jitter'>>;

const VIEW_OVERRIDE_KEYS = ['cropScale', 'cropRatio', 'flipP', 'jitterP', 'grayscaleP', 'blurP', 'solarizeP', 'shiftPx', 'eraseP'];

/** `base` with `overrides` on top, checked: a run config from the network is not trusted. */
export function withViewOverrides(base: ViewParams, overrides: unknown): ViewParams {
  if (overrides === undefined || overrides === null) return base;
  if (typeof overrides !== 'object' || Array.isArray(overrides)) throw new Error(`view overrides must be an object, got ${JSON.stringify(overrides)}`);
  const o = overrides as Record<string, unknown>;
  const out: ViewParams = { ...base };
  const range = (k: 'cropScale' | 'cropRatio', lo: number, hi: number) => {
    const v = o[k];
    if (v === undefined) return;
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && x >= lo && x <= hi) || v[0] > v[1]) {
      throw new Error(`view.${k} must be [lo, hi] within [${lo}, ${hi}], got ${JSON.stringify(v)}`);
    }
    out[k] = [v[0], v[1]];
  };
  range('cropScale', 0.01, 1);
  range('cropRatio', 0.1, 10);
  if (o.shiftPx !== undefined) {
    if (!Number.isInteger(o.shiftPx) || (o.shiftPx as number) < 0 || (o.shiftPx as number) > 16) {
      throw new Error(`view.shiftPx must be a whole number of pixels in [0, 16], got ${JSON.stringify(o.shiftPx)}`);
    }
    out.shiftPx = o.shiftPx as number;
  }
  for (const k of ['flipP', 'jitterP', 'grayscaleP', 'blurP', 'solarizeP', 'eraseP'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`view.${k} must be a probability, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  const unknown = Object.keys(o).filter((k) => !VIEW_OVERRIDE_KEYS.includes(k));
  if (unknown.length) throw new Error(`unknown view option(s): ${unknown.join(', ')}`);
  return out;
}

/** Seed streams of the stages; fixed so adding a stage never reshuffles the others. */
const enum Stage {
  Crop,
  Flip,
  Jitter,
  Grayscale,
  Blur,
  Solarize,
  Shift,
  Erase,
}

/** The shape {@link augment} returns for `batch` images: `[batch, outH, outW, 3]`. */
export function viewShape(batch: number, params: ViewParams): [number, number, number, number] {
  const [outH, outW] = typeof params.outputSize === 'number' ? [params.outputSize, params.outputSize] : params.outputSize;
  return [batch, outH, outW, 3];
}

/**
 * One random view of each image, in BYOL's order: random resized crop → (whole-pixel shift) →
 * horizontal flip → colour jitter → grayscale → Gaussian blur → solarization → (random erasing);
 * the stages in brackets are off unless `shiftPx` / `eraseP` are set. Each stage draws its per-image parameters
 * from its own stream derived from `seed`, so the result is a pure function of its arguments and
 * agrees across backends up to float rounding. Synchronous, so it can run inside `tf.tidy` or a
 * loss; it frees its intermediates.
 *
 * @param images `[batch, h, w, 3]` (or `[batch, h, w, 1]`, treated as gray RGB), values in `[0, 1]`
 * @param params the view's augmentation family, e.g. {@link BYOL_VIEW_1}
 * @param seed   integer; use a different seed per view and per step
 * @returns      `[batch, outH, outW, 3]`, values in `[0, 1]`
 */
export function augment(images: tf.Tensor4D, params: ViewParams, seed: number): tf.Tensor4D {
  const channels = images.shape[3];
  if (channels !== 1 && channels !== 3) {
    throw new Error(`augment: expected 1 or 3 channels, got shape [${images.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    let x: tf.Tensor4D = channels === 1 ? tf.tile(images, [1, 1, 1, 3]) : images;
    const [, outH, outW] = viewShape(images.shape[0], params);
    // A crop of the whole image to its own size is the identity: skipped (layout-keeping views).
    if (params.cropScale[0] < 1 || outH !== x.shape[1] || outW !== x.shape[2]) {
      x = randomResizedCrop(x, { outputSize: params.outputSize, scale: params.cropScale, ratio: params.cropRatio }, deriveSeed(seed, Stage.Crop));
    }
    if (params.shiftPx) x = randomShift(x, params.shiftPx, deriveSeed(seed, Stage.Shift));
    x = randomHorizontalFlip(x, params.flipP, deriveSeed(seed, Stage.Flip));
    x = randomColorJitter(x, { ...params.jitter, p: params.jitterP }, deriveSeed(seed, Stage.Jitter));
    x = randomGrayscale(x, params.grayscaleP, deriveSeed(seed, Stage.Grayscale));
    x = randomGaussianBlur(x, { p: params.blurP }, deriveSeed(seed, Stage.Blur));
    x = randomSolarize(x, params.solarizeP, deriveSeed(seed, Stage.Solarize));
    if (params.eraseP) x = randomErase(x, params.eraseP, deriveSeed(seed, Stage.Erase));
    return x;
  });
}
