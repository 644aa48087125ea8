import * as tf from '@tensorflow/tfjs-core';
import { bernoulli, mulberry32 } from './rng';
import { selectPerImage } from './select';

/**
 * Random horizontal flip, each image independently with probability `p` (0.5 in SimCLR and BYOL).
 *
 * @param images `[batch, h, w, c]`
 * @param p      probability of flipping an image
 * @param seed   integer; the same seed flips the same images
 * @returns      `[batch, h, w, c]`
 */
export function randomHorizontalFlip(images: tf.Tensor4D, p: number, seed: number): tf.Tensor4D {
  const mask = bernoulli(mulberry32(seed), images.shape[0], p);
  if (!mask.some(Boolean)) return images.clone();
  return tf.tidy(() => selectPerImage(mask, tf.image.flipLeftRight(images), images));
}
