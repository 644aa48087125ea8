/**
 * MLP heads shared by the SSL methods.
 *
 * Projector (BYOL, Grill et al. 2020, §3.3): "a multi-layer perceptron (MLP) … a linear layer with
 * output size 4096 followed by batch normalization, rectified linear units (ReLU), and a final
 * linear layer with output dimension 256". The predictor has the same architecture. SimCLR's
 * projector (Chen et al. 2020) is Dense → ReLU → Dense. Glimpse scales the widths down for a small
 * encoder and uses LayerNorm instead of BatchNorm for the reason given in encoder.ts.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { normLayer, type NormKind } from './encoder';

export interface MlpHeadConfig {
  /** Layer-name prefix, unique across the method's models: 'proj', 'pred', … */
  name: string;
  inputDim: number;
  hiddenDim: number;
  outputDim: number;
  norm: NormKind;
}

/** input [batch, inputDim] → output [batch, outputDim] */
export function buildMlpHead(c: MlpHeadConfig): tfl.LayersModel {
  const input = tfl.input({ shape: [c.inputDim], name: `${c.name}_input` });
  let x = tfl.layers.dense({ units: c.hiddenDim, useBias: c.norm === 'none', name: `${c.name}_dense1`, kernelInitializer: 'heNormal' }).apply(input) as tfl.SymbolicTensor;
  x = normLayer(c.norm, `${c.name}_norm1`)(x);
  x = tfl.layers.reLU({ name: `${c.name}_relu1` }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: c.outputDim, name: `${c.name}_dense2` }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: `glimpse_${c.name}` });
}

/** A single linear layer head (classifiers of the pretext tasks). input [batch, inputDim] → [batch, units] */
export function buildLinearHead(name: string, inputDim: number, units: number): tfl.LayersModel {
  const input = tfl.input({ shape: [inputDim], name: `${name}_input` });
  const out = tfl.layers.dense({ units, name: `${name}_dense` }).apply(input) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: `glimpse_${name}` });
}
