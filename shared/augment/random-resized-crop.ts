import * as tf from '@tensorflow/tfjs-core';
import { mulberry32, randInt, uniform, type Rand } from './rng';

/** Options of {@link randomResizedCrop}. */
export interface RandomResizedCropOptions {
  /** Output `[height, width]`, or one number for a square output. Fixed, so no shape churn. */
  outputSize: number | readonly [number, number];
  /** Range of the crop's area as a fraction of the image's. Default `[0.2, 1.0]`. */
  scale?: readonly [number, number];
  /** Range of the crop's width / height, sampled log-uniformly. Default `[3/4, 4/3]`. */
  ratio?: readonly [number, number];
}

/** A crop in pixels: top row, left column, height, width. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * Draws one crop box exactly as torchvision's `RandomResizedCrop.get_params`: up to ten tries of
 * (area fraction uniform in `scale`, aspect ratio log-uniform in `ratio`), rounded to whole pixels
 * and kept if it fits; otherwise a centre crop with the ratio clamped into range. Done in JS
 * because it is a handful of numbers per image, not per pixel.
 */
export function sampleCropBox(
  rand: Rand,
  height: number,
  width: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
): CropBox {
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * uniform(rand, scale[0], scale[1]);
    const aspect = Math.exp(uniform(rand, logLo, logHi));
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: randInt(rand, 0, height - h), left: randInt(rand, 0, width - w), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(...ratio)) {
    h = Math.round(w / Math.min(...ratio));
  } else if (inRatio > Math.max(...ratio)) {
    w = Math.round(h * Math.max(...ratio));
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * Converts pixel crops into `tf.image.cropAndResize` boxes `[y1, x1, y2, x2]` over the image
 * padded by one replicated pixel on each side (`(h + 2) × (w + 2)`, where `0` and `1` are the
 * centres of the first and last padded pixel).
 *
 * The boxes put output pixel `i` at source coordinate `top + (i + 0.5)·h/outH − 0.5`, the
 * half-pixel-centre mapping of torchvision's bilinear resize. Those samples can reach half a pixel
 * past the image's edge pixels; there the pad repeats the edge, which is torchvision's index
 * clamping. Without the pad, cropAndResize returns its extrapolation value (0) for samples that
 * float32 rounding pushes even slightly outside the image, which the wasm backend does at the
 * last column: the half-pixel margin makes that impossible on every backend.
 */
export function cropBoxesToNormalized(
  boxes: readonly CropBox[],
  height: number,
  width: number,
  outH: number,
  outW: number,
): number[][] {
  // In padded pixel units, first and last sample of an n-pixel crop starting at `start`.
  const span = (start: number, n: number, out: number): [number, number] => {
    const first = 1 + start + (0.5 * n) / out - 0.5;
    return [first, first + (n * (out - 1)) / out];
  };
  return boxes.map((b) => {
    const [y1, y2] = span(b.top, b.height, outH);
    const [x1, x2] = span(b.left, b.width, outW);
    return [y1 / (height + 1), x1 / (width + 1), y2 / (height + 1), x2 / (width + 1)];
  });
}

/**
 * Random resized crop (the "Inception crop" of SimCLR, Chen et al. 2020, arXiv:2002.05709, and
 * BYOL, Grill et al. 2020, arXiv:2006.07733, Table 6): a crop of random area and aspect ratio,
 * resized bilinearly to a fixed size. One box per image, all resized in one `cropAndResize`, with
 * torchvision's sampling grid (see {@link cropBoxesToNormalized}); unlike torchvision ≥ 0.17 there
 * is no antialiasing when the crop is shrunk.
 *
 * @param images `[batch, h, w, c]`, values in `[0, 1]`
 * @param seed   integer; the same seed gives the same boxes
 * @returns      `[batch, outH, outW, c]`, values in `[0, 1]`
 */
export function randomResizedCrop(images: tf.Tensor4D, options: RandomResizedCropOptions, seed: number): tf.Tensor4D {
  const [batch, height, width] = images.shape;
  const [outH, outW] = typeof options.outputSize === 'number' ? [options.outputSize, options.outputSize] : options.outputSize;
  const scale = options.scale ?? [0.2, 1.0];
  const ratio = options.ratio ?? [3 / 4, 4 / 3];
  const rand = mulberry32(seed);
  const boxes = Array.from({ length: batch }, () => sampleCropBox(rand, height, width, scale, ratio));
  return tf.tidy(() => {
    // 'symmetric' by one pixel repeats the edge pixel.
    const padded = tf.mirrorPad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], 'symmetric');
    const boxTensor = tf.tensor2d(cropBoxesToNormalized(boxes, height, width, outH, outW), [batch, 4], 'float32');
    const indices = tf.tensor1d(Array.from({ length: batch }, (_, i) => i), 'int32');
    // Bilinear weights are convex, so [0, 1] inputs stay in [0, 1]; the clip only absorbs rounding.
    return tf.clipByValue(tf.image.cropAndResize(padded, boxTensor, indices, [outH, outW], 'bilinear'), 0, 1);
  });
}
