/**
 * Turning stored grayscale images into encoder input, and serving them in seeded mini-batches.
 * Pure and DOM-free: runs in Node, in a worker, or in the extension.
 */
import { mulberry32, shuffleInPlace, type Rand } from './rng';

export { shard, type ShardOptions } from './shard';
import type { LabeledImages } from './idx';

/**
 * Converts uint8 grayscale images to float model input.
 *
 * Values are scaled to `[0, 1]` and replicated to 3 channels, so the encoder has the RGB stem it
 * will also have on natural images. When `size` is at least `h` and `w` the image is
 * centre-padded with zeros (28 → 32 adds 2 px each side, matching Fashion-MNIST's black
 * background, and keeps every pixel intact); otherwise it is resized with nearest-neighbour.
 *
 * @param images `[count, h, w]` uint8, row-major.
 * @returns `[count, size, size, 3]` float32 in `[0, 1]`.
 */
export function toModelInput(images: Uint8Array, count: number, h = 28, w = 28, size = 32): Float32Array {
  if (images.length !== count * h * w) {
    throw new Error(`toModelInput: expected ${count}*${h}*${w} = ${count * h * w} bytes, got ${images.length}`);
  }
  const out = new Float32Array(count * size * size * 3);
  const pad = size >= h && size >= w;
  const top = Math.floor((size - h) / 2);
  const left = Math.floor((size - w) / 2);
  // Source row/column for every output row/column; -1 marks padding.
  const srcY = Int32Array.from({ length: size }, (_, y) =>
    pad ? (y - top >= 0 && y - top < h ? y - top : -1) : Math.min(h - 1, Math.floor(((y + 0.5) * h) / size)),
  );
  const srcX = Int32Array.from({ length: size }, (_, x) =>
    pad ? (x - left >= 0 && x - left < w ? x - left : -1) : Math.min(w - 1, Math.floor(((x + 0.5) * w) / size)),
  );
  for (let n = 0; n < count; n++) {
    const inBase = n * h * w;
    const outBase = n * size * size * 3;
    for (let y = 0; y < size; y++) {
      const sy = srcY[y];
      if (sy < 0) continue;
      for (let x = 0; x < size; x++) {
        const sx = srcX[x];
        if (sx < 0) continue;
        const v = images[inBase + sy * w + sx] / 255;
        const o = outBase + (y * size + x) * 3;
        out[o] = v;
        out[o + 1] = v;
        out[o + 2] = v;
      }
    }
  }
  return out;
}

/**
 * Serves mini-batches drawn without replacement from a shuffled epoch order; when an epoch runs
 * out, a new order is drawn and the batch continues into it. The whole sequence of batches is a
 * function of `seed`, so two clients with the same seed and data see the same batches.
 */
export class ImageBatchSource {
  /** Number of passes started over the data (1 after the first batch). */
  epoch = 0;
  private readonly rand: Rand;
  private readonly order: Int32Array;
  private cursor: number;
  private readonly imageLen: number;

  /**
   * @param images `[count, size, size, channels]` float32, e.g. from `toModelInput`.
   * @param seed seeds the epoch orders.
   */
  constructor(
    private readonly images: Float32Array,
    readonly count: number,
    readonly size: number,
    readonly channels: number,
    seed: number,
  ) {
    this.imageLen = size * size * channels;
    if (!(count > 0)) throw new Error(`ImageBatchSource: need at least one image, got count ${count}`);
    if (images.length !== count * this.imageLen) {
      throw new Error(`ImageBatchSource: expected ${count}*${size}*${size}*${channels} floats, got ${images.length}`);
    }
    this.rand = mulberry32(seed);
    this.order = Int32Array.from({ length: count }, (_, i) => i);
    this.cursor = count; // forces a shuffle on the first draw
  }

  /** The next `batchSize` images as `[batchSize, size, size, channels]` float32 (a fresh copy). */
  nextBatch(batchSize: number): Float32Array {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`nextBatch: bad batch size ${batchSize}`);
    const out = new Float32Array(batchSize * this.imageLen);
    for (let b = 0; b < batchSize; b++) {
      if (this.cursor === this.count) {
        shuffleInPlace(this.order, this.rand);
        this.cursor = 0;
        this.epoch++;
      }
      const i = this.order[this.cursor++];
      out.set(this.images.subarray(i * this.imageLen, (i + 1) * this.imageLen), b * this.imageLen);
    }
    return out;
  }
}

/** The images and labels at `indices`, in that order. */
export function selectImages(data: LabeledImages, indices: ArrayLike<number>): LabeledImages {
  const px = data.height * data.width;
  const images = new Uint8Array(indices.length * px);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i];
    images.set(data.images.subarray(src * px, (src + 1) * px), i * px);
    labels[i] = data.labels[src];
  }
  return { images, labels, count: indices.length, height: data.height, width: data.width };
}
