/**
 * MoCo — He et al. 2020, "Momentum Contrast for Unsupervised Visual Representation Learning", and
 * MoCo v2 — Chen, Fan, Girshick & He 2020, "Improved Baselines with Momentum Contrastive Learning".
 *
 * "We maintain the dictionary as a queue of data samples: the encoded representations of the
 * current mini-batch are enqueued, and the oldest are dequeued" (§3.2). A query q (query encoder
 * f_q on one view) is contrasted with its key k⁺ (key encoder f_k on another view) and the K queued
 * keys by InfoNCE with cosine scores and τ = 0.07 (eq. 1). The key encoder is a momentum copy,
 * θ_k ← m·θ_k + (1−m)·θ_q with m = 0.999 (eq. 2).
 *
 * In Glimpse the key encoder *is* the server's EMA target (`target/<name>`, declared by
 * `momentumPairs`; the registry's `serverMomentum` is the m the server should use), so clients
 * only read it. The queue lives on the client, inside this method instance: filled with keys of
 * its own batches, kept across local rounds, never shipped (it is no model weight). It starts as
 * random unit vectors, as in the authors' code, so its shape is fixed from step one.
 *
 * v2 (mocoVersion: 2) swaps the linear fc for a 2-layer MLP head, raises τ to 0.2 and adds blur to
 * SimCLR-strength augmentation (Chen et al. 2020b, §2). With `config.reconstruction`, a decoder
 * also restores the clean image from the query's representation (./reconstruction.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { augmentViews, withViewOverrides, type ViewParams } from '../augment';
import { buildEncoder, representationDim } from '../models/encoder';
import { buildLinearHead, buildMlpHead } from '../models/heads';
import { infoNce, l2Normalize } from './losses';
import { momentumPairsOf } from './momentum';
import { createPixelReconstruction } from './reconstruction';
import { TARGET_PREFIX, type MethodConfig, type SslMethod } from './method';

/** MoCo v1's augmentation (authors' code): crop area [0.2, 1], grayscale 0.2, jitter 0.4 (p = 1), flip. */
export const MOCO_V1_VIEW: Readonly<ViewParams> = Object.freeze({
  cropScale: [0.2, 1.0],
  flipP: 0.5,
  jitterP: 1.0,
  jitter: Object.freeze({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4 }),
  grayscaleP: 0.2,
  blurP: 0,
  solarizeP: 0,
  outputSize: 224,
} as const);

/** MoCo v2's augmentation (Chen et al. 2020b): crop [0.2, 1], jitter (0.4, 0.4, 0.4, 0.1) p 0.8, grayscale 0.2, blur p 0.5, flip. */
export const MOCO_V2_VIEW: Readonly<ViewParams> = Object.freeze({
  ...MOCO_V1_VIEW,
  jitterP: 0.8,
  jitter: Object.freeze({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }),
  blurP: 0.5,
});

/** MoCo's extra config (read from MethodConfig's open fields). */
export interface MocoOptions {
  /** 1: linear fc head, 2: MLP head + blur. */
  mocoVersion: 1 | 2;
  /** Queue length K. */
  queueSize: number;
  /** Seeds the random initial queue. */
  queueSeed: number;
}

export interface MocoMethod extends SslMethod {
  readonly queueSize: number;
  /** Enqueues keys [b, d] as the newest entries; the oldest fall out (FIFO, bounded by K). */
  enqueue(keys: tf.Tensor2D): void;
  /** A copy of the queue [K, d], newest first. */
  queueSnapshot(): Float32Array;
}

export function mocoOptions(config: MethodConfig): MocoOptions {
  return {
    mocoVersion: config.mocoVersion === 2 ? 2 : 1,
    queueSize: Number(config.queueSize ?? 4096),
    queueSeed: Number(config.queueSeed ?? 0),
  };
}

export function createMoco(config: MethodConfig): MocoMethod {
  const opts = mocoOptions(config);
  if (!(Number.isInteger(opts.queueSize) && opts.queueSize >= 1)) throw new Error(`moco: queueSize must be a positive integer, got ${opts.queueSize}`);
  const dim = representationDim(config.encoder);
  const head = () =>
    opts.mocoVersion === 2
      ? buildMlpHead({ name: 'proj', inputDim: dim, hiddenDim: config.projectionHidden, outputDim: config.projectionDim, norm: 'none' })
      : buildLinearHead('moco_fc', dim, config.projectionDim);
  const encoder = buildEncoder(config.encoder);
  const projector = head();
  const keyEncoder = buildEncoder(config.encoder);
  const keyProjector = head();
  const view = withViewOverrides({ ...(opts.mocoVersion === 2 ? MOCO_V2_VIEW : MOCO_V1_VIEW), outputSize: config.encoder.inputSize }, config.view);
  const apply = (m: tfl.LayersModel, x: tf.Tensor, training: boolean) => m.apply(x, { training }) as tf.Tensor2D;
  const recon = createPixelReconstruction(config, dim);
  const K = opts.queueSize;
  let queue: tf.Tensor2D = tf.tidy(() => l2Normalize(tf.randomNormal([K, config.projectionDim], 0, 1, 'float32', opts.queueSeed)));

  const enqueue = (keys: tf.Tensor2D) => {
    const next = tf.tidy(() => tf.slice(tf.concat([keys, queue], 0), [0, 0], [K, config.projectionDim]) as tf.Tensor2D);
    queue.dispose();
    queue = next;
  };

  return {
    name: opts.mocoVersion === 2 ? 'mocov2' : 'moco',
    encoder,
    online: { prefix: '', models: recon ? [encoder, projector, recon.decoder] : [encoder, projector] },
    target: { prefix: TARGET_PREFIX, models: [keyEncoder, keyProjector] },
    momentumPairs: momentumPairsOf([encoder, projector]),
    queueSize: K,
    /** → [query view, keys [b, d] (unit norm, from the momentum encoder), (reconstruction target)] */
    prepare(images, seed) {
      return tf.tidy(() => {
        const [vq, vk] = augmentViews(images, [{ params: view, seed: seed * 2 + 1 }, { params: view, seed: seed * 2 + 2 }]);
        return [vq, l2Normalize(apply(keyProjector, apply(keyEncoder, vk, false), false)), ...(recon ? [recon.target(images)] : [])];
      });
    },
    loss([vq, keys, target]) {
      return tf.tidy(() => {
        const h = apply(encoder, vq, true);
        const contrast = infoNce(apply(projector, h, true), keys as tf.Tensor2D, queue, config.temperature);
        return recon ? (tf.add(contrast, recon.loss(h, target as tf.Tensor2D, 1)) as tf.Scalar) : contrast;
      });
    },
    afterStep([, keys]) {
      enqueue(keys as tf.Tensor2D);
    },
    enqueue,
    queueSnapshot() {
      return Float32Array.from(queue.dataSync() as Float32Array);
    },
    dispose() {
      queue.dispose();
      for (const m of [encoder, projector, keyEncoder, keyProjector]) m.dispose();
      recon?.decoder.dispose();
    },
  };
}
