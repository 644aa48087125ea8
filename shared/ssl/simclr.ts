/**
 * SimCLR — Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual Representations".
 *
 * Two augmented views of each of N images (2N samples), encoder f → projection head
 * g(h) = W⁽²⁾σ(W⁽¹⁾h) (§2.1), NT-Xent on the projections with cosine similarity and temperature
 * τ (default 0.5): each positive pair has 2(N−1) negatives (eq. 1). No target network.
 * With `config.reconstruction`, a decoder also restores the clean image from h (./reconstruction.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { augmentViews, SIMCLR_SMALL_VIEW, SIMCLR_VIEW, withViewOverrides } from '../augment';
import { buildEncoder, representationDim } from '../models/encoder';
import { buildMlpHead } from '../models/heads';
import { ntXent } from './losses';
import { createPixelReconstruction } from './reconstruction';
import { TARGET_PREFIX, type MethodConfig, type SslMethod } from './method';

export function createSimclr(config: MethodConfig): SslMethod {
  const encoder = buildEncoder(config.encoder);
  const projector = buildMlpHead({
    name: 'proj', inputDim: representationDim(config.encoder), hiddenDim: config.projectionHidden, outputDim: config.projectionDim, norm: config.headNorm,
  });
  // Images of CIFAR size or smaller get the paper's CIFAR-10 view (s = 0.5, no blur).
  const size = config.encoder.inputSize;
  // config.view: the run's data-specific overrides (e.g. GRAYSCALE_SMALL_VIEW for Fashion-MNIST).
  const view = withViewOverrides({ ...(size <= 64 ? SIMCLR_SMALL_VIEW : SIMCLR_VIEW), outputSize: size }, config.view);
  const apply = (m: tfl.LayersModel, x: tf.Tensor) => m.apply(x, { training: true }) as tf.Tensor2D;
  const recon = createPixelReconstruction(config, representationDim(config.encoder));
  return {
    name: 'simclr',
    encoder,
    online: { prefix: '', models: recon ? [encoder, projector, recon.decoder] : [encoder, projector] },
    target: { prefix: TARGET_PREFIX, models: [] },
    momentumPairs: [],
    prepare(images, seed) {
      return tf.tidy(() => [...augmentViews(images, [{ params: view, seed: seed * 2 + 1 }, { params: view, seed: seed * 2 + 2 }]), ...(recon ? [recon.target(images)] : [])]);
    },
    loss([v1, v2, target]) {
      return tf.tidy(() => {
        const n = v1.shape[0];
        const h = apply(encoder, tf.concat([v1, v2], 0));
        const [z1, z2] = tf.split(apply(projector, h), [n, n], 0) as tf.Tensor2D[];
        const contrast = ntXent(z1, z2, config.temperature);
        return recon ? (tf.add(contrast, recon.loss(h, target as tf.Tensor2D, 2)) as tf.Scalar) : contrast;
      });
    },
    dispose() {
      encoder.dispose();
      projector.dispose();
      recon?.decoder.dispose();
    },
  };
}
