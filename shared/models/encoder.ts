/**
 * Glimpse's default encoder: a small ResNet-style conv net (He et al. 2016, "Deep Residual
 * Learning for Image Recognition") for 32×32×3 input.
 *
 *   stem conv3×3 → norm → ReLU
 *   3 stages (widths 32, 64, 128; strides 1, 2, 2) of basic residual blocks
 *   average pool → representation: global (poolGrid 1, [batch, widths.at(-1)], 128-d) or to a
 *   poolGrid × poolGrid grid, flattened row-major in NHWC order ([batch, grid² · widths.at(-1)])
 *
 * poolGrid: a 2×2 grid keeps where in the image a feature fired. Measured on Fashion-MNIST
 * (docs/quality.md): global pooling of a 128-channel map throws away the layout that raw-pixel
 * kNN lives on, and the pretrained encoder's kNN stayed below raw pixels; the 2×2 grid (512-d)
 * is what lifted it above. It is the pooling the method registry trains with by default.
 *
 * Layer names are stable and unique (`enc_stem_conv`, `enc_s2_b1_conv1`, …): the weight names
 * derived from them (`enc_stem_conv/kernel`) are the keys of every weight map on the wire.
 *
 * Normalization: LayerNormalization over channels (axis −1) by default, not BatchNorm. Batch
 * statistics are a known trap in federated learning when clients hold different data (Hsieh et
 * al. 2020, "The Non-IID Data Quagmire of Decentralized Machine Learning": BatchNorm's running
 * statistics and per-batch normalisation diverge across skewed clients; they recommend
 * GroupNorm). Per-position channel LayerNorm is the batch-independent choice of ConvNeXt (Liu et
 * al. 2022), needs no running statistics to federate, behaves identically in training and
 * inference, and is a stock tfjs layer, so the saved model loads with plain `tf.loadLayersModel`
 * (tfjs has no GroupNorm layer; a custom one would need class registration on every consumer).
 * BYOL trains without batch statistics too (Richemond et al. 2020).
 *
 * Measured (`npm run bench:normalization`: SimCLR, 60 steps × 32 on the fixture, widths
 * [16, 32, 64]; kNN random init → centralized → 2-client non-IID FedAvg; no run collapsed,
 * embedding std 0.01–0.05): LayerNorm 58.5 → 64.6 → 66.0%, BatchNorm 59.4 → 68.8 → 71.1%,
 * none 66.0 → 74.2 → 71.5%. At this short budget LayerNorm scores lowest. It stays the default for
 * what the short run cannot show — browser clients train on tiny, skewed batches, and a product
 * encoder whose inference depends on averaged running statistics is the failure Hsieh et al.
 * measured — but the numbers say the choice is open: rerun the bench at a longer budget before
 * trusting either way.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export type NormKind = 'layer' | 'batch' | 'none';

export interface EncoderConfig {
  /** Input height = width in pixels. */
  inputSize: number;
  channels: number;
  stemWidth: number;
  /** Width of each stage; the last is the representation dimension. */
  widths: number[];
  /** Stride of the first block of each stage. */
  strides: number[];
  /** Residual blocks per stage. */
  blocksPerStage: number[];
  norm: NormKind;
  /**
   * Side of the average-pooling grid of the output: 1 (or absent) = global average pooling, 2 =
   * 2×2 regions flattened. The last feature map's side must be a multiple of it.
   */
  poolGrid?: number;
}

export const DEFAULT_ENCODER: EncoderConfig = {
  inputSize: 32,
  channels: 3,
  stemWidth: 32,
  widths: [32, 64, 128],
  strides: [1, 2, 2],
  blocksPerStage: [1, 1, 1],
  norm: 'layer',
};

/** A ResNet-18-like variant for machines with a GPU: one line of config. */
export const LARGE_ENCODER: EncoderConfig = { ...DEFAULT_ENCODER, widths: [64, 128, 256], stemWidth: 64, blocksPerStage: [2, 2, 2] };

export function representationDim(config: EncoderConfig): number {
  return config.widths[config.widths.length - 1] * (config.poolGrid ?? 1) ** 2;
}

/** Side of the last feature map: each stride-2 stage halves it, rounding up ('same' padding). */
export function featureMapSide(config: EncoderConfig): number {
  return config.strides.reduce((side, s) => Math.ceil(side / s), config.inputSize);
}

export function validateEncoderConfig(c: EncoderConfig): void {
  const ok =
    Number.isInteger(c.inputSize) && c.inputSize >= 8 &&
    Number.isInteger(c.channels) && c.channels >= 1 &&
    c.widths.length > 0 && c.widths.length === c.strides.length && c.widths.length === c.blocksPerStage.length &&
    [...c.widths, c.stemWidth].every((w) => Number.isInteger(w) && w > 0) &&
    c.strides.every((s) => s === 1 || s === 2) &&
    c.blocksPerStage.every((b) => Number.isInteger(b) && b >= 1) &&
    ['layer', 'batch', 'none'].includes(c.norm) &&
    (c.poolGrid === undefined || (Number.isInteger(c.poolGrid) && c.poolGrid >= 1 && featureMapSide(c) % c.poolGrid === 0));
  if (!ok) throw new Error(`invalid encoder config: ${JSON.stringify(c)}`);
}

/** A normalization layer of the configured kind, or identity for 'none'. */
export function normLayer(kind: NormKind, name: string): (x: tfl.SymbolicTensor) => tfl.SymbolicTensor {
  if (kind === 'none') return (x) => x;
  const layer =
    kind === 'layer'
      ? tfl.layers.layerNormalization({ axis: -1, epsilon: 1e-5, name })
      : tfl.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, name });
  return (x) => layer.apply(x) as tfl.SymbolicTensor;
}

function conv(name: string, filters: number, kernelSize: number, strides: number, useBias: boolean) {
  return tfl.layers.conv2d({
    name, filters, kernelSize, strides, padding: 'same', useBias,
    kernelInitializer: tfl.initializers.heNormal({}),
  });
}

/** Builds the encoder: input [batch, size, size, channels] in [0, 1] → output [batch, representationDim(config)]. */
export function buildEncoder(config: EncoderConfig = DEFAULT_ENCODER): tfl.LayersModel {
  validateEncoderConfig(config);
  const bias = config.norm === 'none';
  const input = tfl.input({ shape: [config.inputSize, config.inputSize, config.channels], name: 'enc_input' });
  // Centre the [0,1] input: a fixed affine map, no weights to federate.
  let x = tfl.layers.rescaling({ scale: 2, offset: -1, name: 'enc_rescale' }).apply(input) as tfl.SymbolicTensor;
  x = conv('enc_stem_conv', config.stemWidth, 3, 1, bias).apply(x) as tfl.SymbolicTensor;
  x = normLayer(config.norm, 'enc_stem_norm')(x);
  x = tfl.layers.reLU({ name: 'enc_stem_relu' }).apply(x) as tfl.SymbolicTensor;
  let width = config.stemWidth;
  config.widths.forEach((w, s) => {
    for (let b = 0; b < config.blocksPerStage[s]; b++) {
      const stride = b === 0 ? config.strides[s] : 1;
      x = basicBlock(x, `enc_s${s + 1}_b${b + 1}`, width, w, stride, config.norm);
      width = w;
    }
  });
  const grid = config.poolGrid ?? 1;
  let out: tfl.SymbolicTensor;
  if (grid === 1) {
    out = tfl.layers.globalAveragePooling2d({ name: 'enc_pool' }).apply(x) as tfl.SymbolicTensor;
  } else {
    const cell = featureMapSide(config) / grid;
    x = tfl.layers.averagePooling2d({ name: 'enc_pool', poolSize: cell, strides: cell, padding: 'valid' }).apply(x) as tfl.SymbolicTensor;
    out = tfl.layers.flatten({ name: 'enc_flatten' }).apply(x) as tfl.SymbolicTensor;
  }
  return tfl.model({ inputs: input, outputs: out, name: 'glimpse_encoder' });
}

/** He et al. 2016's basic block: conv3×3 → norm → ReLU → conv3×3 → norm, plus shortcut, → ReLU. */
function basicBlock(x: tfl.SymbolicTensor, name: string, inWidth: number, outWidth: number, stride: number, norm: NormKind) {
  const bias = norm === 'none';
  let y = conv(`${name}_conv1`, outWidth, 3, stride, bias).apply(x) as tfl.SymbolicTensor;
  y = normLayer(norm, `${name}_norm1`)(y);
  y = tfl.layers.reLU({ name: `${name}_relu1` }).apply(y) as tfl.SymbolicTensor;
  y = conv(`${name}_conv2`, outWidth, 3, 1, bias).apply(y) as tfl.SymbolicTensor;
  y = normLayer(norm, `${name}_norm2`)(y);
  let shortcut = x;
  if (stride !== 1 || inWidth !== outWidth) {
    shortcut = conv(`${name}_short_conv`, outWidth, 1, stride, bias).apply(x) as tfl.SymbolicTensor;
    shortcut = normLayer(norm, `${name}_short_norm`)(shortcut);
  }
  const sum = tfl.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as tfl.SymbolicTensor;
  return tfl.layers.reLU({ name: `${name}_relu2` }).apply(sum) as tfl.SymbolicTensor;
}

/** Embeds a batch without recording gradients; caller disposes the result. */
export function embed(encoder: tfl.LayersModel, images: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => encoder.predict(images) as tf.Tensor2D);
}

/**
 * Repeats the channels of `images` [b, s, s, c] to the encoder's `channels` (grayscale → RGB);
 * returns `images` itself when they already match. `channels` must be a multiple of c.
 */
export function matchChannels(images: tf.Tensor4D, channels: number): tf.Tensor4D {
  const c = images.shape[3];
  if (c === channels) return images;
  if (channels % c !== 0) throw new Error(`cannot expand ${c} channels to ${channels}`);
  return tf.tile(images, [1, 1, 1, channels / c]);
}
