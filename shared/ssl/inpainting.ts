/**
 * Context encoders — Pathak, Krähenbühl, Donahue, Darrell & Efros 2016, "Context Encoders:
 * Feature Learning by Inpainting".
 *
 * A region of each image is dropped (§3.3: a central square, or random blocks) and filled with a
 * constant; the encoder sees the rest and a decoder reconstructs the whole image. The joint loss
 * (§3.2, eq. 3) is L = λ_rec·L_rec + λ_adv·L_adv with λ_rec = 0.999, λ_adv = 0.001:
 *   L_rec = ‖M̂ ⊙ (x − F((1 − M̂) ⊙ x))‖²  (eq. 1; here averaged over the masked values),
 *   L_adv = max_D E[log D(x) + log(1 − D(F((1 − M̂) ⊙ x)))]  (eq. 2).
 * The generator minimises the non-saturating −log D(x̂); D is a small conv net trained by its own
 * objective (an `auxiliaryLosses` entry with its own optimizer). Like every weight, D is federated.
 *
 * The encoder is Glimpse's; the decoder reads its last feature map (feature-map.ts) and upsamples
 * with resize + conv (UpSampling2D: nearest resize and its gradient exist on cpu, wasm, webgl and
 * webgpu; conv2dTranspose's filter gradient is missing on stock wasm).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mulberry32 } from '../data/rng';
import { buildEncoder, matchChannels } from '../models/encoder';
import { encoderFeatureModel, featureMapSize } from './feature-map';
import { TARGET_PREFIX, type MethodConfig, type SslMethod } from './method';

export type MaskKind = 'center' | 'random' | 'mixed';

export interface InpaintingOptions {
  /** 'center': central square of half the side; 'random': random blocks covering ≈ 1/4; 'mixed': half of each. */
  mask: MaskKind;
  lambdaRec: number;
  lambdaAdv: number;
  /** Value the dropped region is filled with (the paper uses the mean pixel). */
  fill: number;
  /** Channels of the decoder's first conv (halved after each upsampling). */
  decoderWidth: number;
}

export function inpaintingOptions(config: MethodConfig): InpaintingOptions {
  const mask = config.mask === 'center' || config.mask === 'random' ? config.mask : 'mixed';
  return {
    mask,
    lambdaRec: Number(config.lambdaRec ?? 0.999),
    lambdaAdv: Number(config.lambdaAdv ?? 0.001),
    fill: Number(config.fill ?? 0.5),
    decoderWidth: Number(config.decoderWidth ?? 32),
  };
}

/**
 * Masks [b, s, s, 1] (1 = dropped). Centre: the central s/2 square. Random blocks: rectangles of
 * side in [s/8, s/3] at random positions until ≥ 1/4 of the image is covered (§3.3 "random block").
 */
export function inpaintingMasks(batch: number, size: number, kind: MaskKind, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(batch * size * size);
  const lo = Math.max(1, Math.round(size / 8));
  const hi = Math.max(lo, Math.round(size / 3));
  for (let i = 0; i < batch; i++) {
    const m = out.subarray(i * size * size, (i + 1) * size * size);
    const center = kind === 'center' || (kind === 'mixed' && i % 2 === 0);
    if (center) {
      const q = Math.floor(size / 4);
      for (let y = q; y < size - q; y++) m.fill(1, y * size + q, y * size + size - q);
      continue;
    }
    let covered = 0;
    while (covered < (size * size) / 4) {
      const h = lo + Math.floor(rand() * (hi - lo + 1));
      const w = lo + Math.floor(rand() * (hi - lo + 1));
      const y0 = Math.floor(rand() * (size - h + 1));
      const x0 = Math.floor(rand() * (size - w + 1));
      for (let y = y0; y < y0 + h; y++) {
        for (let x = x0; x < x0 + w; x++) {
          if (m[y * size + x] === 0) covered++;
          m[y * size + x] = 1;
        }
      }
    }
  }
  return out;
}

/** eq. 1 averaged: Σ M⊙(x − x̂)² / (Σ M · c). x, xHat [b, s, s, c]; mask [b, s, s, 1]. */
export function maskedL2(x: tf.Tensor4D, xHat: tf.Tensor4D, mask: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const se = tf.sum(tf.mul(mask, tf.squaredDifference(x, xHat)));
    return tf.div(se, tf.maximum(tf.mul(tf.sum(mask), x.shape[3]), 1)) as tf.Scalar;
  });
}

/** Generator's non-saturating adversarial loss −mean log σ(D(x̂)) = mean softplus(−logits). logits [b, 1]. */
export function generatorAdversarialLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.softplus(tf.neg(fakeLogits))) as tf.Scalar);
}

/** Discriminator loss −mean[log σ(D(x)) + log(1 − σ(D(x̂)))] = mean softplus(−real) + mean softplus(fake). */
export function discriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.add(tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(fakeLogits))) as tf.Scalar);
}

function conv(name: string, filters: number, strides = 1, activation?: 'sigmoid') {
  return tfl.layers.conv2d({ name, filters, kernelSize: 3, strides, padding: 'same', activation, kernelInitializer: 'heNormal' });
}

/** Decoder: feature map [f, f, d] → image [s, s, c] in (0, 1): (conv → ReLU → ×2 upsample)* → conv → sigmoid. */
export function buildInpaintingDecoder(featureSize: number, featureDim: number, size: number, channels: number, width: number): tfl.LayersModel {
  const input = tfl.input({ shape: [featureSize, featureSize, featureDim], name: 'inp_dec_input' });
  let x = input;
  let side = featureSize;
  let w = width;
  for (let i = 1; side < size; i++) {
    x = conv(`inp_dec_conv${i}`, w).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.reLU({ name: `inp_dec_relu${i}` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.upSampling2d({ size: [2, 2], name: `inp_dec_up${i}` }).apply(x) as tfl.SymbolicTensor;
    side *= 2;
    w = Math.max(8, Math.floor(w / 2));
  }
  if (side !== size) throw new Error(`inpainting: feature map ${featureSize} does not upsample to ${size} by powers of 2`);
  const out = conv('inp_dec_out', channels, 1, 'sigmoid').apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'glimpse_inp_decoder' });
}

/** Discriminator: image [s, s, c] → logit [1]: two stride-2 convs with LeakyReLU(0.2), global pool, dense. */
export function buildInpaintingDiscriminator(size: number, channels: number, width = 16): tfl.LayersModel {
  const input = tfl.input({ shape: [size, size, channels], name: 'inp_disc_input' });
  let x = conv('inp_disc_conv1', width, 2).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.leakyReLU({ alpha: 0.2, name: 'inp_disc_lrelu1' }).apply(x) as tfl.SymbolicTensor;
  x = conv('inp_disc_conv2', width * 2, 2).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.leakyReLU({ alpha: 0.2, name: 'inp_disc_lrelu2' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({ name: 'inp_disc_pool' }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 1, name: 'inp_disc_logit' }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'glimpse_inp_discriminator' });
}

export interface InpaintingMethod extends SslMethod {
  /** Reconstruction of masked images [b, s, s, c] (inference). */
  inpaint(masked: tf.Tensor4D): tf.Tensor4D;
}

export function createInpainting(config: MethodConfig): InpaintingMethod {
  const opts = inpaintingOptions(config);
  const size = config.encoder.inputSize;
  const channels = config.encoder.channels;
  const encoder = buildEncoder(config.encoder);
  const features = encoderFeatureModel(encoder);
  const fSize = featureMapSize(config.encoder);
  const decoder = buildInpaintingDecoder(fSize, config.encoder.widths[config.encoder.widths.length - 1], size, channels, opts.decoderWidth);
  const discriminator = buildInpaintingDiscriminator(size, channels);
  const apply = (m: tfl.LayersModel, x: tf.Tensor, training = true) => m.apply(x, { training }) as tf.Tensor;
  const reconstruct = (masked: tf.Tensor, training = true) => apply(decoder, apply(features, masked, training), training) as tf.Tensor4D;
  /** Ground truth outside the hole, prediction inside: what D judges. */
  const composite = (x: tf.Tensor, xHat: tf.Tensor, m: tf.Tensor) => tf.add(tf.mul(m, xHat), tf.mul(tf.sub(1, m), x));
  const discVars = () => discriminator.trainableWeights.map((w) => w.read() as tf.Variable);

  return {
    name: 'inpainting',
    encoder,
    online: { prefix: '', models: [encoder, decoder, discriminator] },
    target: { prefix: TARGET_PREFIX, models: [] },
    momentumPairs: [],
    /** → [masked input, original [b, s, s, c], mask [b, s, s, 1]] */
    prepare(images, seed) {
      return tf.tidy(() => {
        const b = images.shape[0];
        const x = matchChannels(images, channels);
        const m = tf.tensor4d(inpaintingMasks(b, size, opts.mask, seed), [b, size, size, 1]);
        const masked = tf.add(tf.mul(tf.sub(1, m), x), tf.mul(m, opts.fill));
        return [masked, tf.clone(x), m];
      });
    },
    loss([masked, x, m]) {
      return tf.tidy(() => {
        const xHat = reconstruct(masked);
        const rec = maskedL2(x as tf.Tensor4D, xHat, m as tf.Tensor4D);
        if (opts.lambdaAdv === 0) return tf.mul(rec, opts.lambdaRec) as tf.Scalar;
        const adv = generatorAdversarialLoss(apply(discriminator, composite(x, xHat, m)));
        return tf.add(tf.mul(rec, opts.lambdaRec), tf.mul(adv, opts.lambdaAdv)) as tf.Scalar;
      });
    },
    auxiliaryLosses: opts.lambdaAdv === 0 ? [] : [
      {
        name: 'discriminator',
        variables: discVars,
        loss([masked, x, m]) {
          return tf.tidy(() => {
            const fake = composite(x, reconstruct(masked), m);
            return discriminatorLoss(apply(discriminator, x), apply(discriminator, fake));
          });
        },
      },
    ],
    inpaint(maskedImages) {
      return tf.tidy(() => reconstruct(maskedImages, false));
    },
    dispose() {
      for (const model of [encoder, decoder, discriminator]) model.dispose();
    },
  };
}
