import * as tf from '@tensorflow/tfjs-core';
import { bernoulli, mulberry32, uniform } from './rng';
import { assertRgb, selectPerImage } from './select';

/**
 * Jitter strengths, with torchvision's meaning: brightness, contrast and saturation factors are
 * drawn uniformly from `[max(0, 1 − s), 1 + s]`, the hue shift from `[−s, s]` of a full turn.
 */
export interface JitterStrengths {
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

/** Options of {@link randomColorJitter}. */
export interface ColorJitterOptions extends JitterStrengths {
  /** Probability of jittering an image (0.8 in SimCLR and BYOL). */
  p: number;
}

/** ITU-R BT.601 luma weights, as torchvision's `rgb_to_grayscale` and the Y row of YIQ. They sum to 1. */
const LUMA = [0.299, 0.587, 0.114] as const;

/** RGB → YIQ (NTSC). */
const RGB_TO_YIQ = [
  [0.299, 0.587, 0.114],
  [0.596, -0.274, -0.322],
  [0.211, -0.523, 0.312],
] as const;

const YIQ_TO_RGB = invert3(RGB_TO_YIQ);

/**
 * Luma of each pixel.
 * @param images `[batch, h, w, 3]`
 * @returns      `[batch, h, w, 1]`
 */
export function rgbToGrayscale(images: tf.Tensor4D): tf.Tensor4D {
  assertRgb(images, 'rgbToGrayscale');
  return tf.tidy(() => tf.sum(tf.mul(images, tf.tensor1d([...LUMA])), -1, true) as tf.Tensor4D);
}

/** Grayscale kept as 3 equal channels: `[batch, h, w, 3]` in and out. */
export function grayscale(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.tile(rgbToGrayscale(images), [1, 1, 1, 3]));
}

/** `[batch]` numbers as a `[batch, 1, 1, 1]` tensor that broadcasts over one image each. */
function perImage(values: readonly number[]): tf.Tensor4D {
  return tf.tensor4d([...values], [values.length, 1, 1, 1], 'float32');
}

/** torchvision's `_blend`: `clip(f·a + (1 − f)·b, 0, 1)` with one `f` per image. */
function blend(a: tf.Tensor4D, b: tf.Tensor, factors: readonly number[]): tf.Tensor4D {
  const f = perImage(factors);
  return tf.clipByValue(tf.add(tf.mul(f, a), tf.mul(tf.sub(1, f), b)), 0, 1);
}

/** Multiplies image `i` by `factors[i]`, clipped to `[0, 1]`. `[batch, h, w, c]` in and out. */
export function adjustBrightness(images: tf.Tensor4D, factors: readonly number[]): tf.Tensor4D {
  return tf.tidy(() => tf.clipByValue(tf.mul(images, perImage(factors)), 0, 1));
}

/** Blends image `i` with its mean luma by `factors[i]` (torchvision `adjust_contrast`). `[batch, h, w, 3]`. */
export function adjustContrast(images: tf.Tensor4D, factors: readonly number[]): tf.Tensor4D {
  return tf.tidy(() => blend(images, tf.mean(rgbToGrayscale(images), [1, 2, 3], true), factors));
}

/** Blends image `i` with its grayscale by `factors[i]` (torchvision `adjust_saturation`). `[batch, h, w, 3]`. */
export function adjustSaturation(images: tf.Tensor4D, factors: readonly number[]): tf.Tensor4D {
  return tf.tidy(() => blend(images, rgbToGrayscale(images), factors));
}

/**
 * Shifts the hue of image `i` by `shifts[i]` of a full turn, as a rotation of the chroma plane
 * (I, Q) of YIQ around the luma axis: one 3×3 matrix per image, applied with a batched matmul,
 * so no RGB↔HSV branching per pixel. Positive shifts turn red towards yellow, as in HSV. It keeps
 * luma rather than HSV's max/min channel, so strongly saturated colours can leave the RGB cube
 * and are clipped; gray pixels (I = Q = 0) are untouched.
 *
 * @param images `[batch, h, w, 3]`, values in `[0, 1]`
 * @param shifts `[batch]` hue shifts in turns, e.g. within `[−0.5, 0.5]`
 */
export function adjustHue(images: tf.Tensor4D, shifts: readonly number[]): tf.Tensor4D {
  assertRgb(images, 'adjustHue');
  const [batch, height, width] = images.shape;
  // Row-vector pixels: rgb' = rgb · Mᵀ, with M = YIQ⁻¹ · R(θ) · YIQ. Red → yellow → green runs
  // clockwise in the IQ plane, hence θ = −2π·shift.
  const transposed = shifts.flatMap((shift) => {
    const m = matmul3(YIQ_TO_RGB, matmul3(rotationIq(-2 * Math.PI * shift), RGB_TO_YIQ));
    return [0, 1, 2].flatMap((r) => [0, 1, 2].map((c) => m[c][r]));
  });
  return tf.tidy(() => {
    const pixels = tf.reshape(images, [batch, height * width, 3]) as tf.Tensor3D;
    const rotated = tf.matMul(pixels, tf.tensor3d(transposed, [batch, 3, 3], 'float32'));
    return tf.clipByValue(tf.reshape(rotated, [batch, height, width, 3]), 0, 1) as tf.Tensor4D;
  });
}

/**
 * Colour jitter of SimCLR (Chen et al. 2020, arXiv:2002.05709, Appendix A) and BYOL (Grill et al.
 * 2020, arXiv:2006.07733, Table 6): with probability `p`, an image gets random brightness,
 * contrast, saturation and hue changes. The order is fixed (brightness, contrast, saturation,
 * hue) rather than shuffled per image as in the papers: one graph for the whole batch. Hue is a
 * YIQ rotation ({@link adjustHue}), not torchvision's HSV shift.
 *
 * All `5 × batch` parameters are drawn whatever `p`, so the same seed gives the same factors.
 *
 * @param images `[batch, h, w, 3]`, values in `[0, 1]`
 * @returns      `[batch, h, w, 3]`, values in `[0, 1]`
 */
export function randomColorJitter(images: tf.Tensor4D, options: ColorJitterOptions, seed: number): tf.Tensor4D {
  assertRgb(images, 'randomColorJitter');
  const batch = images.shape[0];
  const rand = mulberry32(seed);
  const mask = bernoulli(rand, batch, options.p);
  const factor = (s: number) => Array.from({ length: batch }, () => uniform(rand, Math.max(0, 1 - s), 1 + s));
  const brightness = factor(options.brightness);
  const contrast = factor(options.contrast);
  const saturation = factor(options.saturation);
  const hue = Array.from({ length: batch }, () => uniform(rand, -options.hue, options.hue));
  if (!mask.some(Boolean)) return images.clone();
  return tf.tidy(() => {
    let x = images;
    if (options.brightness > 0) x = adjustBrightness(x, brightness);
    if (options.contrast > 0) x = adjustContrast(x, contrast);
    if (options.saturation > 0) x = adjustSaturation(x, saturation);
    if (options.hue > 0) x = adjustHue(x, hue);
    return selectPerImage(mask, x, images);
  });
}

/**
 * Random grayscale, each image with probability `p` (0.2 in SimCLR and BYOL); the output keeps
 * 3 (equal) channels.
 *
 * @param images `[batch, h, w, 3]`
 * @returns      `[batch, h, w, 3]`
 */
export function randomGrayscale(images: tf.Tensor4D, p: number, seed: number): tf.Tensor4D {
  assertRgb(images, 'randomGrayscale');
  const mask = bernoulli(mulberry32(seed), images.shape[0], p);
  if (!mask.some(Boolean)) return images.clone();
  return tf.tidy(() => selectPerImage(mask, grayscale(images), images));
}

type Mat3 = readonly (readonly number[])[];

function matmul3(a: Mat3, b: Mat3): number[][] {
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => a[r][0] * b[0][c] + a[r][1] * b[1][c] + a[r][2] * b[2][c]));
}

/** Rotation by `theta` in the I–Q plane, leaving Y alone. */
function rotationIq(theta: number): number[][] {
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  return [
    [1, 0, 0],
    [0, c, -s],
    [0, s, c],
  ];
}

function invert3(m: Mat3): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    [A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
    [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
    [C / det, -(a * h - b * g) / det, (a * e - b * d) / det],
  ];
}
