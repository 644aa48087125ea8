import * as tf from '@tensorflow/tfjs-core';
import { bernoulli, mulberry32, uniform } from './rng';
import { selectPerImage } from './select';

/** Options of {@link randomGaussianBlur}. */
export interface GaussianBlurOptions {
  /** Probability of blurring an image (BYOL: 1.0 and 0.1 for its two views; SimCLR: 0.5). */
  p: number;
  /** Range of the per-image standard deviation in pixels. Default `[0.1, 2.0]`. */
  sigma?: readonly [number, number];
  /** Odd kernel side; default {@link blurKernelSize} of the image height. */
  kernelSize?: number;
}

/**
 * Kernel side used by SimCLR's `random_blur` ("kernel size is set to be 10% of the image
 * height/width"): radius `⌊⌊size/10⌋/2⌋`, side `2·radius + 1`, so 23 for 224 px and 3 for 32 px.
 * Never below 3.
 */
export function blurKernelSize(imageSize: number): number {
  return Math.max(3, 2 * Math.floor(Math.floor(imageSize / 10) / 2) + 1);
}

/** A normalised 1-D Gaussian of `size` taps (odd) and standard deviation `sigma` pixels. */
export function gaussianKernel1d(size: number, sigma: number): number[] {
  const radius = (size - 1) / 2;
  const taps = Array.from({ length: size }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((s, t) => s + t, 0);
  return taps.map((t) => t / total);
}

/**
 * Blurs image `i` with a Gaussian of standard deviation `sigmas[i]`, in one batched pass: the
 * batch is folded into the channel axis (`[1, h, w, batch·c]`), so a depthwise convolution, which
 * has one filter per channel, applies a different kernel to each image. The kernel is separable:
 * a vertical then a horizontal pass. Borders are reflect-padded, as torchvision's `GaussianBlur`,
 * so a constant image stays constant (zero padding would darken the rim).
 *
 * @param images     `[batch, h, w, c]`
 * @param sigmas     `[batch]` standard deviations in pixels, > 0
 * @param kernelSize odd side, smaller than twice the image's height and width
 * @returns          `[batch, h, w, c]`
 */
export function gaussianBlur(images: tf.Tensor4D, sigmas: readonly number[], kernelSize: number): tf.Tensor4D {
  if (kernelSize % 2 !== 1) throw new Error(`gaussianBlur: kernel size must be odd, got ${kernelSize}`);
  const [batch, height, width, channels] = images.shape;
  const radius = (kernelSize - 1) / 2;
  // Filter [k, 1, batch·c, 1]: channel b·c + j carries image b's kernel.
  const taps = new Float32Array(kernelSize * batch * channels);
  sigmas.forEach((sigma, b) => {
    gaussianKernel1d(kernelSize, sigma).forEach((w, k) => {
      for (let j = 0; j < channels; j++) taps[k * batch * channels + b * channels + j] = w;
    });
  });
  return tf.tidy(() => {
    const folded = tf.reshape(tf.transpose(images, [1, 2, 0, 3]), [1, height, width, batch * channels]) as tf.Tensor4D;
    const padded = tf.mirrorPad(folded, [[0, 0], [radius, radius], [radius, radius], [0, 0]], 'reflect');
    const vertical = tf.tensor4d(taps, [kernelSize, 1, batch * channels, 1]);
    const horizontal = tf.reshape(vertical, [1, kernelSize, batch * channels, 1]) as tf.Tensor4D;
    const blurred = tf.depthwiseConv2d(tf.depthwiseConv2d(padded, vertical, 1, 'valid'), horizontal, 1, 'valid');
    const unfolded = tf.transpose(tf.reshape(blurred, [height, width, batch, channels]), [2, 0, 1, 3]);
    return tf.clipByValue(unfolded, 0, 1) as tf.Tensor4D;
  });
}

/**
 * Random Gaussian blur of SimCLR (Chen et al. 2020, arXiv:2002.05709, Appendix A) and BYOL
 * (Grill et al. 2020, arXiv:2006.07733, Table 6): with probability `p`, an image is blurred with
 * σ uniform in `[0.1, 2.0]` pixels and a kernel of ~10% of the image side.
 *
 * @param images `[batch, h, w, c]`, values in `[0, 1]`
 * @returns      `[batch, h, w, c]`, values in `[0, 1]`
 */
export function randomGaussianBlur(images: tf.Tensor4D, options: GaussianBlurOptions, seed: number): tf.Tensor4D {
  const batch = images.shape[0];
  const [lo, hi] = options.sigma ?? [0.1, 2.0];
  const rand = mulberry32(seed);
  const mask = bernoulli(rand, batch, options.p);
  const sigmas = Array.from({ length: batch }, () => uniform(rand, lo, hi));
  if (!mask.some(Boolean)) return images.clone();
  const kernelSize = options.kernelSize ?? blurKernelSize(images.shape[1]);
  return tf.tidy(() => selectPerImage(mask, gaussianBlur(images, sigmas, kernelSize), images));
}
