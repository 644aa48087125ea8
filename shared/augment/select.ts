import * as tf from '@tensorflow/tfjs-core';

/**
 * Per-image choice between two batches: image `b` of the result is `a[b]` where `mask[b]`, else
 * `other[b]`. The mask is a JS array (drawn from the seeded PRNG), turned into a `[batch,1,1,1]`
 * bool tensor that `tf.where` broadcasts; an all-true or all-false mask skips the select.
 *
 * @param mask  one flag per image, length `batch`
 * @param a     `[batch, h, w, c]`, taken where the flag is set
 * @param other `[batch, h, w, c]`, taken elsewhere
 */
export function selectPerImage(mask: readonly boolean[], a: tf.Tensor4D, other: tf.Tensor4D): tf.Tensor4D {
  if (mask.every(Boolean)) return a.clone();
  if (!mask.some(Boolean)) return other.clone();
  return tf.tidy(() => {
    const cond = tf.tensor4d(mask.map(Number), [mask.length, 1, 1, 1], 'bool');
    return tf.where(cond, a, other);
  });
}

/** Throws unless `images` is a `[batch, h, w, 3]` batch. Ops that mix channels need RGB. */
export function assertRgb(images: tf.Tensor4D, op: string): void {
  if (images.rank !== 4 || images.shape[3] !== 3) {
    throw new Error(`${op}: expected NHWC images with 3 channels, got shape [${images.shape.join(', ')}]`);
  }
}
