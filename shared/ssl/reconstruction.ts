/**
 * A pixel-reconstruction term beside a joint-embedding loss: a linear decoder maps the encoder's
 * representation h of an augmented view back to the *clean* image (its gray level, average-pooled
 * to `size × size`), and λ·MSE joins the method's loss.
 *
 * Why: contrastive objectives reward invariance to the views and are free to drop whatever the
 * views vary — on small grayscale garments that includes the layout a kNN on the grid-pooled
 * representation compares. A decoder that must restore the unshifted, unerased image from h keeps
 * that information in h (a denoising autoencoder's objective, Vincent et al. 2008; the masked
 * modelling of MAE, He et al. 2022, from the other side). On the PyTorch peer (MoCo v2 with the
 * layout-keeping view) λ = 100 took kNN at 30k examples from 77.95 to 80.05% on a 10k/2k subset
 * (raw pixels 78.65%) and to 85.25% on the full protocol (raw pixels 84.59%): docs/quality.md,
 * "Reconstruction beside the contrastive loss".
 *
 * The decoder is an online head (`recon_dense`): it travels in deltas like the projector, so every
 * contributor's decoder reads the same representation the federation is shaping.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildLinearHead } from '../models/heads';
import type { MethodConfig } from './method';

/** `MethodConfig.reconstruction`: weight λ of the MSE term and the target's side in pixels. */
export interface ReconstructionConfig {
  weight: number;
  /** Side of the target: the clean image average-pooled to `size × size` (a divisor of the input). */
  size: number;
}

export interface PixelReconstruction {
  readonly weight: number;
  /** The decoder: representation [b, d] → pooled gray image [b, size²]. */
  readonly decoder: tfl.LayersModel;
  /** The target of clean images [b, s, s, c] in [0, 1]: [b, size²]. Call in `prepare`. */
  target(images: tf.Tensor4D): tf.Tensor2D;
  /** λ · MSE(decoder(h), target); `h` rows are views of the target's rows, `repeats` views each (view-major). */
  loss(h: tf.Tensor2D, target: tf.Tensor2D, repeats: number): tf.Scalar;
}

/** Reads and checks `config.reconstruction` (it arrives in a run config over the network). */
export function reconstructionOf(config: MethodConfig): ReconstructionConfig | null {
  const r = config.reconstruction as Partial<ReconstructionConfig> | undefined | null;
  if (r === undefined || r === null) return null;
  const side = config.encoder.inputSize;
  if (typeof r !== 'object' || Array.isArray(r)) throw new Error(`reconstruction must be { weight, size }, got ${JSON.stringify(r)}`);
  const weight = r.weight;
  if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1e4)) throw new Error(`reconstruction.weight must be a number in [0, 10000], got ${JSON.stringify(weight)}`);
  const size = r.size ?? side;
  if (!Number.isInteger(size) || size < 1 || size > side || side % size !== 0) {
    throw new Error(`reconstruction.size must be a whole divisor of the input size ${side}, got ${JSON.stringify(r.size)}`);
  }
  const unknown = Object.keys(r).filter((k) => k !== 'weight' && k !== 'size');
  if (unknown.length) throw new Error(`unknown reconstruction option(s): ${unknown.join(', ')}`);
  return weight > 0 ? { weight, size } : null;
}

/** The term for a method whose representation has `dim` features, or null when the config has none. */
export function createPixelReconstruction(config: MethodConfig, dim: number): PixelReconstruction | null {
  const r = reconstructionOf(config);
  if (!r) return null;
  const pool = config.encoder.inputSize / r.size;
  const decoder = buildLinearHead('recon', dim, r.size * r.size);
  return {
    weight: r.weight,
    decoder,
    target(images) {
      return tf.tidy(() => {
        const gray = tf.mean(images, 3, true) as tf.Tensor4D;
        const pooled = pool > 1 ? tf.avgPool(gray, pool, pool, 'valid') : gray;
        return tf.reshape(pooled, [images.shape[0], r.size * r.size]) as tf.Tensor2D;
      });
    },
    loss(h, target, repeats) {
      return tf.tidy(() => {
        const out = decoder.apply(h, { training: true }) as tf.Tensor2D;
        const t = repeats > 1 ? tf.concat(Array.from({ length: repeats }, () => target), 0) : target;
        return tf.mul(tf.mean(tf.square(tf.sub(out, t))), r.weight) as tf.Scalar;
      });
    },
  };
}
