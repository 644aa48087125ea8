import * as tf from '@tensorflow/tfjs-core';
import { bernoulli, mulberry32, randInt, uniform } from './rng';

/**
 * Random whole-pixel translation of each image by up to `maxShift` pixels on each axis, the
 * uncovered border filled with 0 (the background of Fashion-MNIST-like images). Unlike a resized
 * crop it keeps every garment's scale and layout, which is what a kNN on the grid-pooled
 * representation compares (docs/quality.md, "A layout-keeping view").
 *
 * One `gather` of whole pixels out of the zero-padded batch (indices built in JS): exact on every
 * backend. (A bilinear `cropAndResize` at integer offsets leaks float-rounding crumbs, e.g. 1e-8,
 * into the zero fill, and wasm's nearest-neighbour one picks the wrong pixel at some offsets.)
 *
 * @param images   `[batch, h, w, c]`, values in `[0, 1]`
 * @param maxShift largest shift in pixels (0: a copy)
 * @param seed     integer; the same seed gives the same shifts
 * @returns        `[batch, h, w, c]`
 */
export function randomShift(images: tf.Tensor4D, maxShift: number, seed: number): tf.Tensor4D {
  const [batch, h, w] = images.shape;
  const rand = mulberry32(seed);
  // Offsets into the padded image: 0 … 2·maxShift, drawn for every image even when maxShift is 0.
  const offsets = Array.from({ length: batch }, () => [randInt(rand, 0, 2 * maxShift), randInt(rand, 0, 2 * maxShift)]);
  if (maxShift === 0) return images.clone();
  const [ph, pw] = [h + 2 * maxShift, w + 2 * maxShift];
  const index = new Int32Array(batch * h * w);
  offsets.forEach(([dy, dx], b) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) index[(b * h + y) * w + x] = (b * ph + y + dy) * pw + x + dx;
    }
  });
  return tf.tidy(() => {
    const padded = tf.pad(images, [[0, 0], [maxShift, maxShift], [maxShift, maxShift], [0, 0]]);
    const pixels = tf.reshape(padded, [batch * ph * pw, images.shape[3]]);
    return tf.reshape(tf.gather(pixels, tf.tensor1d(index, 'int32')), images.shape);
  });
}

/** One erased rectangle in pixels (top, left, height, width), or `null` for an image left whole. */
export type EraseBox = readonly [number, number, number, number] | null;

/**
 * Draws random-erasing boxes (Zhong et al. 2020, "Random Erasing Data Augmentation",
 * arXiv:1708.04896): with probability `p` one rectangle of area 2–20% of the image and aspect
 * ratio log-uniform in [0.3, 3.3], clipped to the image: the distribution that the PyTorch peer's
 * `shift_erase_view` draws from, here drawn with this project's generator.
 */
export function sampleEraseBoxes(seed: number, batch: number, h: number, w: number, p: number): EraseBox[] {
  const rand = mulberry32(seed);
  return bernoulli(rand, batch, p).map((erase) => {
    if (!erase) return null;
    const area = h * w * uniform(rand, 0.02, 0.2);
    const aspect = Math.exp(uniform(rand, Math.log(0.3), Math.log(3.3)));
    const eh = Math.min(h, Math.max(1, Math.round(Math.sqrt(area * aspect))));
    const ew = Math.min(w, Math.max(1, Math.round(Math.sqrt(area / aspect))));
    return [randInt(rand, 0, h - eh), randInt(rand, 0, w - ew), eh, ew] as const;
  });
}

/**
 * Random erasing: with probability `p` per image, one rectangle (see {@link sampleEraseBoxes}) set
 * to 0 (the background), in all channels — occlusion instead of cropping, so the two views of an
 * image still share its layout. The mask is built in JS (one float per pixel) and multiplied in.
 *
 * @param images `[batch, h, w, c]`, values in `[0, 1]`
 * @param p      probability of erasing a rectangle in an image
 * @param seed   integer; the same seed erases the same rectangles
 * @returns      `[batch, h, w, c]`
 */
export function randomErase(images: tf.Tensor4D, p: number, seed: number): tf.Tensor4D {
  const [batch, h, w] = images.shape;
  const boxes = sampleEraseBoxes(seed, batch, h, w, p);
  if (boxes.every((b) => b === null)) return images.clone();
  const keep = new Float32Array(batch * h * w).fill(1);
  boxes.forEach((box, b) => {
    if (!box) return;
    const [top, left, eh, ew] = box;
    for (let y = top; y < top + eh; y++) keep.fill(0, (b * h + y) * w + left, (b * h + y) * w + left + ew);
  });
  return tf.tidy(() => tf.mul(images, tf.tensor4d(keep, [batch, h, w, 1])));
}
