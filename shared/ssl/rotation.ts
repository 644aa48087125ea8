/**
 * Rotation prediction — Gidaris, Singh & Komodakis 2018, "Unsupervised Representation Learning by
 * Predicting Image Rotations".
 *
 * Each image X is rotated by y·90° for y ∈ {0, 1, 2, 3} (K = 4, "the rotations of multiples of 90
 * degrees … can be implemented by flip and transpose operations", §2.2), and a ConvNet F(·)
 * predicts which: loss(X_i, θ) = −(1/K) Σ_y log F^y(g(X_i | y) | θ) (eq. 2), averaged over the
 * batch (eq. 1). F is Glimpse's encoder followed by a 4-way linear classifier.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { randomHorizontalFlip } from '../augment';
import { buildEncoder, representationDim, matchChannels } from '../models/encoder';
import { buildLinearHead } from '../models/heads';
import { crossEntropyWithIndex } from './losses';
import { TARGET_PREFIX, type MethodConfig, type SslMethod } from './method';

/** Number of rotations K. */
export const ROTATIONS = 4;

/**
 * Rotates every image of x [b, h, w, c] (h = w) by `quarterTurns` × 90° counter-clockwise with
 * transpose + reverse only (portable to every backend).
 */
export function rot90(x: tf.Tensor4D, quarterTurns: number): tf.Tensor4D {
  const k = ((quarterTurns % 4) + 4) % 4;
  return tf.tidy(() => {
    if (k === 0) return tf.clone(x);
    if (k === 2) return tf.reverse(x, [1, 2]);
    const t = tf.transpose(x, [0, 2, 1, 3]);
    // transpose then flip rows = 90° counter-clockwise; transpose then flip columns = clockwise.
    return tf.reverse(t, k === 1 ? 1 : 2);
  });
}

/**
 * The K rotated copies of a batch: images [4b, s, s, c] ordered rotation-major (all 0°, then all
 * 90°, …) and labels [4b] int32.
 */
export function rotationBatch(x: tf.Tensor4D): { images: tf.Tensor4D; labels: tf.Tensor1D } {
  return tf.tidy(() => {
    const b = x.shape[0];
    const images = tf.concat(Array.from({ length: ROTATIONS }, (_, k) => rot90(x, k)), 0);
    const labels = tf.tensor1d(Int32Array.from({ length: ROTATIONS * b }, (_, i) => Math.floor(i / b)), 'int32');
    return { images, labels };
  });
}

export function createRotation(config: MethodConfig): SslMethod {
  const encoder = buildEncoder(config.encoder);
  const classifier = buildLinearHead('rot', representationDim(config.encoder), ROTATIONS);
  const apply = (m: tfl.LayersModel, x: tf.Tensor) => m.apply(x, { training: true }) as tf.Tensor2D;
  const channels = config.encoder.channels;
  return {
    name: 'rotation',
    encoder,
    online: { prefix: '', models: [encoder, classifier] },
    target: { prefix: TARGET_PREFIX, models: [] },
    momentumPairs: [],
    /** → [rotated images [4b, s, s, c], labels [4b]] */
    prepare(images, seed) {
      return tf.tidy(() => {
        let x: tf.Tensor4D = matchChannels(images, channels);
        // A flip keeps the task well-posed (flips do not change the rotation label) and varies the batch.
        x = randomHorizontalFlip(x, 0.5, seed);
        const { images: r, labels } = rotationBatch(x);
        return [r, labels];
      });
    },
    loss([x, labels]) {
      return tf.tidy(() => crossEntropyWithIndex(apply(classifier, apply(encoder, x)), labels as tf.Tensor1D));
    },
    dispose() {
      encoder.dispose();
      classifier.dispose();
    },
  };
}
