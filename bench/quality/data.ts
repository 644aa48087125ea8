/**
 * Training batches for the quality benchmark: images drawn from uint8 Fashion-MNIST and converted
 * to model input per batch (the whole 60k as float32 model input would be 737 MB), in seeded
 * epoch orders, optionally restricted to one client's shard.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LabeledImages } from '../../shared/data/idx';
import { selectImages, toModelInput } from '../../shared/data/images';
import { mulberry32, permutation } from '../../shared/data/rng';

export class Uint8BatchSource {
  private order: Int32Array;
  private cursor = 0;
  private readonly rand: () => number;

  /** `indices`: the rows of `data` this source draws from (default all). */
  constructor(private readonly data: LabeledImages, seed: number, private readonly indices?: ArrayLike<number>, private readonly size = 32) {
    this.rand = mulberry32(seed);
    this.order = this.shuffle();
    if (this.order.length === 0) throw new Error('Uint8BatchSource: no images');
  }

  private shuffle(): Int32Array {
    const n = this.indices ? this.indices.length : this.data.count;
    const p = permutation(n, this.rand);
    return this.indices ? Int32Array.from(p, (i) => this.indices![i]) : p;
  }

  /** `[b, size, size, 3]` in [0, 1]; the caller disposes it. */
  next(b: number): tf.Tensor4D {
    const rows = new Int32Array(b);
    for (let i = 0; i < b; i++) {
      if (this.cursor === this.order.length) {
        this.order = this.shuffle();
        this.cursor = 0;
      }
      rows[i] = this.order[this.cursor++];
    }
    const sub = selectImages(this.data, rows);
    return tf.tensor4d(toModelInput(sub.images, b, this.data.height, this.data.width, this.size), [b, this.size, this.size, 3]);
  }
}
