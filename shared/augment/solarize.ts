import * as tf from '@tensorflow/tfjs-core';
import { bernoulli, mulberry32 } from './rng';
import { selectPerImage } from './select';

/**
 * Solarization as in BYOL (Grill et al. 2020, arXiv:2006.07733, Table 6 and Appendix B):
 * "pixels with value ≥ 0.5 become 1 − x", applied to each image with probability `p`.
 *
 * @param images    `[batch, h, w, c]`, values in `[0, 1]`
 * @param p         probability of solarizing an image
 * @param seed      integer; the same seed solarizes the same images
 * @param threshold pixels at or above it are inverted; default 0.5
 * @returns         `[batch, h, w, c]`, values in `[0, 1]`
 */
export function randomSolarize(images: tf.Tensor4D, p: number, seed: number, threshold = 0.5): tf.Tensor4D {
  const mask = bernoulli(mulberry32(seed), images.shape[0], p);
  if (!mask.some(Boolean)) return images.clone();
  return tf.tidy(() => selectPerImage(mask, solarize(images, threshold), images));
}

/** Solarizes every image: `x ≥ threshold ? 1 − x : x`. `[batch, h, w, c]` in and out. */
export function solarize(images: tf.Tensor4D, threshold = 0.5): tf.Tensor4D {
  return tf.tidy(() => tf.where(tf.greaterEqual(images, threshold), tf.sub(1, images), images));
}
