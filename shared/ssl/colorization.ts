/**
 * Colorization — Zhang, Isola & Efros 2016, "Colorful Image Colorization".
 *
 * Given the lightness L of an image (CIE Lab), predict a distribution Ẑ over the Q = 313
 * quantised ab bins at every position (§2.1); the target Z soft-encodes the true ab with its 5
 * nearest bins (Gaussian, σ = 5). Loss (eq. 2): L_cl(Ẑ, Z) = −Σ_{h,w} v(Z_{h,w}) Σ_q Z_{h,w,q} log Ẑ_{h,w,q},
 * with class rebalancing v(Z_{h,w}) = w_{q*}, q* = argmax_q Z_{h,w,q}, w ∝ ((1 − λ)p̃ + λ/Q)⁻¹,
 * λ = 0.5, E_p̃[w] = 1 (eq. 3–4), p̃ the empirical bin distribution of the colour training set
 * (shared/color/ab-prior.ts, from the colour fixture; override with `colorPrior`). Colours are
 * decoded by the annealed mean, T = 0.38 (§2.3).
 *
 * In Glimpse the network is the encoder on L replicated to its input channels (L/100 ∈ [0, 1]);
 * a 3×3 conv → ReLU → 1×1 conv head on the encoder's last feature map predicts at that map's
 * resolution (1/4 of the input for the default strides — the paper also predicts at 1/4), and the
 * targets are the ab image average-pooled to it. On grayscale data (Fashion-MNIST) ab ≈ 0 and the
 * task degenerates; train it on colour images (shared/data/colour-fixture.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { annealedMean, paperAbBins, rebalanceWeights, softEncodeAb } from '../color/ab-bins';
import { COLOUR_FIXTURE_AB_PRIOR } from '../color/ab-prior';
import { labToRgb, rgbToLab } from '../color/lab';
import { buildEncoder } from '../models/encoder';
import { encoderFeatureModel, featureMapSize } from './feature-map';
import { TARGET_PREFIX, type MethodConfig, type SslMethod } from './method';

export interface ColorizationOptions {
  /** p̃ over the 313 bins; defaults to the colour fixture's. */
  colorPrior: readonly number[];
  /** Rebalancing mix λ. */
  rebalanceLambda: number;
  /** Annealed-mean temperature T. */
  annealTemperature: number;
  /** Channels of the head's hidden conv. */
  headWidth: number;
}

export function colorizationOptions(config: MethodConfig): ColorizationOptions {
  return {
    colorPrior: (config.colorPrior as number[] | undefined) ?? COLOUR_FIXTURE_AB_PRIOR,
    rebalanceLambda: Number(config.rebalanceLambda ?? 0.5),
    annealTemperature: Number(config.annealTemperature ?? 0.38),
    headWidth: Number(config.headWidth ?? 64),
  };
}

/**
 * Eq. 2 averaged over positions: −mean_p v_p Σ_q Z_pq log softmax(logits)_pq.
 * logits, z [P, Q]; pixelWeights [P].
 */
export function rebalancedCrossEntropy(logits: tf.Tensor2D, z: tf.Tensor2D, pixelWeights: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.mul(pixelWeights, tf.sum(tf.mul(z, tf.logSoftmax(logits)), 1)))) as tf.Scalar);
}

/** The colorization head: features [f, f, d] → logits [f, f, Q]. */
export function buildColorHead(featureSize: number, featureDim: number, width: number, q: number): tfl.LayersModel {
  const input = tfl.input({ shape: [featureSize, featureSize, featureDim], name: 'color_input' });
  let x = tfl.layers.conv2d({ name: 'color_conv1', filters: width, kernelSize: 3, padding: 'same', kernelInitializer: 'heNormal' }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.reLU({ name: 'color_relu1' }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.conv2d({ name: 'color_logits', filters: q, kernelSize: 1, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'glimpse_color_head' });
}

export interface ColorizationMethod extends SslMethod {
  /** Colour images [b, s, s, 3] in [0, 1] from the L channel of `images` [b, s, s, 3|1] (annealed mean). */
  colorize(images: tf.Tensor4D): tf.Tensor4D;
}

export function createColorization(config: MethodConfig): ColorizationMethod {
  const opts = colorizationOptions(config);
  const binsData = paperAbBins();
  const q = binsData.length / 2;
  if (opts.colorPrior.length !== q) throw new Error(`colorization: colorPrior has ${opts.colorPrior.length} entries, expected ${q}`);
  const size = config.encoder.inputSize;
  const channels = config.encoder.channels;
  const fSize = featureMapSize(config.encoder);
  if (size % fSize !== 0) throw new Error(`colorization: input ${size} is not a multiple of the feature map ${fSize}`);
  const pool = size / fSize;
  const encoder = buildEncoder(config.encoder);
  const features = encoderFeatureModel(encoder);
  const head = buildColorHead(fSize, config.encoder.widths[config.encoder.widths.length - 1], opts.headWidth, q);
  // Constants of the method, not weights: kept for its lifetime, freed by dispose().
  const bins = tf.tensor2d(binsData, [q, 2]);
  const weights = tf.tensor1d(rebalanceWeights(opts.colorPrior, opts.rebalanceLambda));

  const labOf = (images: tf.Tensor4D) => rgbToLab(images.shape[3] === 3 ? images : tf.tile(images, [1, 1, 1, 3])) as tf.Tensor4D;
  const lightnessInput = (lab: tf.Tensor4D) => {
    const l = tf.div(tf.slice(lab, [0, 0, 0, 0], [-1, -1, -1, 1]), 100);
    return channels === 1 ? l : tf.tile(l, [1, 1, 1, channels]);
  };
  const logitsOf = (x: tf.Tensor, training: boolean) =>
    tf.reshape(head.apply(features.apply(x, { training }), { training }) as tf.Tensor, [-1, q]) as tf.Tensor2D;

  return {
    name: 'colorization',
    encoder,
    online: { prefix: '', models: [encoder, head] },
    target: { prefix: TARGET_PREFIX, models: [] },
    momentumPairs: [],
    /** → [L input [b, s, s, c], soft targets Z [b·f·f, Q], rebalancing weights v [b·f·f]] */
    prepare(images) {
      return tf.tidy(() => {
        const lab = labOf(images);
        const ab = tf.slice(lab, [0, 0, 0, 1], [-1, -1, -1, 2]);
        const abSmall = pool === 1 ? ab : tf.avgPool(ab as tf.Tensor4D, pool, pool, 'valid');
        const z = softEncodeAb(tf.reshape(abSmall, [-1, 2]) as tf.Tensor2D, bins);
        const v = tf.gather(weights, tf.argMax(z, 1));
        return [lightnessInput(lab), z, v];
      });
    },
    loss([x, z, v]) {
      return tf.tidy(() => rebalancedCrossEntropy(logitsOf(x, true), z as tf.Tensor2D, v as tf.Tensor1D));
    },
    colorize(images) {
      return tf.tidy(() => {
        const b = images.shape[0];
        const lab = labOf(images);
        const probs = tf.softmax(logitsOf(lightnessInput(lab), false));
        const ab = tf.reshape(annealedMean(probs, bins, opts.annealTemperature), [b, fSize, fSize, 2]) as tf.Tensor4D;
        const abFull = pool === 1 ? ab : tf.image.resizeBilinear(ab, [size, size]);
        const L = tf.slice(lab, [0, 0, 0, 0], [-1, -1, -1, 1]);
        return labToRgb(tf.concat([L, abFull], 3)) as tf.Tensor4D;
      });
    },
    dispose() {
      tf.dispose([bins, weights]);
      encoder.dispose();
      head.dispose();
    },
  };
}
