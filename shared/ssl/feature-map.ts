/**
 * The encoder's last spatial feature map, for dense pretext tasks (inpainting, colorization) that
 * decode per-position predictions. The returned model reuses the encoder's layers — the same
 * variables, so training it trains the encoder — and must not be listed in any ModelGroup (its
 * weights would be named twice) nor disposed on its own.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { EncoderConfig } from '../models/encoder';

/** input [b, s, s, c] → [b, s/Π strides, s/Π strides, widths.at(-1)] (the tensor before global pooling). */
export function encoderFeatureModel(encoder: tfl.LayersModel): tfl.LayersModel {
  const pooled = encoder.getLayer('enc_pool');
  return tfl.model({ inputs: encoder.inputs, outputs: pooled.input as tfl.SymbolicTensor, name: 'glimpse_encoder_features' });
}

/** Side of the encoder's last feature map ('same' padding: ceil at each stride-2 stage). */
export function featureMapSize(config: EncoderConfig): number {
  return config.strides.reduce((s, stride) => Math.ceil(s / stride), config.inputSize);
}
