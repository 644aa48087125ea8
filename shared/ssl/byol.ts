/**
 * BYOL — Grill et al. 2020, "Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning".
 *
 * Online network: encoder f_θ → projector g_θ → predictor q_θ. Target network: encoder f_ξ →
 * projector g_ξ, whose weights ξ are *given*: in Glimpse the server keeps ξ ← m·ξ + (1−m)·θ
 * (eq. 1) after each aggregation step. Loss (eq. 2, symmetrised as in §3.1):
 *   L = ‖q̄_θ(z_θ) − z̄′_ξ‖² + ‖q̄_θ(z′_θ) − z̄_ξ‖²,  with ‖ā − b̄‖² = 2 − 2·cos(a, b).
 * Views use BYOL's asymmetric augmentation parameters (Table 6: blur p = 1.0 / 0.1, solarize 0 / 0.2).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { augmentViews, BYOL_VIEW_1, BYOL_VIEW_2, withViewOverrides } from '../augment';
import { buildEncoder, representationDim } from '../models/encoder';
import { buildMlpHead } from '../models/heads';
import { byolRegression } from './losses';
import { momentumPairsOf } from './momentum';
import { TARGET_PREFIX, type MethodConfig, type SslMethod } from './method';

export function createByol(config: MethodConfig): SslMethod {
  const heads = (name: string, inputDim: number) =>
    buildMlpHead({ name, inputDim, hiddenDim: config.projectionHidden, outputDim: config.projectionDim, norm: config.headNorm });
  const dim = representationDim(config.encoder);
  const encoder = buildEncoder(config.encoder);
  const projector = heads('proj', dim);
  const predictor = heads('pred', config.projectionDim);
  const targetEncoder = buildEncoder(config.encoder);
  const targetProjector = heads('proj', dim);
  const size = config.encoder.inputSize;
  // Small images: the crop-scale floor of 0.2 (not ImageNet's 0.08) keeps enough of a 32-px object.
  const view1 = withViewOverrides({ ...BYOL_VIEW_1, outputSize: size, cropScale: [0.2, 1] as const }, config.view);
  const view2 = withViewOverrides({ ...BYOL_VIEW_2, outputSize: size, cropScale: [0.2, 1] as const }, config.view);
  const apply = (m: tfl.LayersModel, x: tf.Tensor, training: boolean) => m.apply(x, { training }) as tf.Tensor2D;

  return {
    name: 'byol',
    encoder,
    online: { prefix: '', models: [encoder, projector, predictor] },
    target: { prefix: TARGET_PREFIX, models: [targetEncoder, targetProjector] },
    momentumPairs: momentumPairsOf([encoder, projector]),
    prepare(images, seed) {
      return tf.tidy(() => {
        const [v1, v2] = augmentViews(images, [{ params: view1, seed: seed * 2 + 1 }, { params: view2, seed: seed * 2 + 2 }]);
        const n = images.shape[0];
        // One target pass over both views, as one batch (the online pass in `loss` batches them alike).
        // The target runs in training mode like the online net (BYOL's target BN uses batch statistics).
        const z = apply(targetProjector, apply(targetEncoder, tf.concat([v1, v2], 0), true), true);
        const [zt1, zt2] = tf.split(z, [n, n], 0);
        return [v1, v2, zt1, zt2];
      });
    },
    loss([v1, v2, zt1, zt2]) {
      return tf.tidy(() => {
        const n = v1.shape[0];
        const q = apply(predictor, apply(projector, apply(encoder, tf.concat([v1, v2], 0), true), true), true);
        const [q1, q2] = tf.split(q, [n, n], 0) as tf.Tensor2D[];
        return tf.add(byolRegression(q1, zt2 as tf.Tensor2D), byolRegression(q2, zt1 as tf.Tensor2D)) as tf.Scalar;
      });
    },
    dispose() {
      for (const m of [encoder, projector, predictor, targetEncoder, targetProjector]) m.dispose();
    },
  };
}
