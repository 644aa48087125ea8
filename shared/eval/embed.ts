/**
 * Running a frozen encoder over a whole image set, for kNN / linear-probe evaluation.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

/**
 * Embeds `count` images with a single-output model in batches of `batchSize` (inference mode: no dropout, batch-norm uses
 * its moving statistics). Each batch runs inside `tf.tidy`, so memory is bounded by one batch
 * and no tensors outlive the call.
 *
 * @param images `[count, size, size, channels]` float32.
 * @returns `[count, dim]` float32, where `dim` is the product of the model's non-batch output
 *   dims (a rank > 2 output is flattened); `dim = result.length / count`.
 */
export function embedAll(
  model: LayersModel,
  images: Float32Array,
  count: number,
  size: number,
  channels: number,
  batchSize = 256,
): Float32Array {
  const imageLen = size * size * channels;
  if (images.length !== count * imageLen) {
    throw new Error(`embedAll: expected ${count}*${size}*${size}*${channels} floats, got ${images.length}`);
  }
  let out: Float32Array | undefined;
  let dim = 0;
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    const emb = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * imageLen, end * imageLen), [end - start, size, size, channels]);
      // predict() would otherwise re-split the batch into its default 32-image batches.
      const y = model.predict(x, { batchSize: end - start }) as tf.Tensor;
      return tf.reshape(y, [end - start, -1]);
    });
    const data = emb.dataSync() as Float32Array;
    if (out === undefined) {
      dim = emb.shape[1] as number;
      out = new Float32Array(count * dim);
    }
    emb.dispose();
    out.set(data, start * dim);
  }
  return out ?? new Float32Array(0);
}
