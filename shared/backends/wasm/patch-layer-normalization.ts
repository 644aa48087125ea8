/**
 * A global patch of tfjs-layers' LayerNormalization: while the wasm backend is active, its
 * `call` runs `layerNormLastAxis` (two fused heap kernels) instead of tiling its statistics and
 * parameters to the input's shape for batchNorm (~40 full-size kernels per layer with the
 * gradient). Applies when normalising the last axis with center and scale — Glimpse's
 * configuration; other backends and configurations keep the stock implementation, and saved
 * models are unaffected (the layer's class, config and weights do not change).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BACKEND } from './kernel-utils';
import { layerNormLastAxis } from './layer-norm-op';

interface LayerNormLike {
  axis: number | number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor } | null;
  beta: { read(): tf.Tensor } | null;
}

/** Installs the patch on LayerNormalization's prototype; idempotent. */
export function patchLayerNormalization(): void {
  const proto = Object.getPrototypeOf(tfl.layers.layerNormalization({})) as {
    call(this: LayerNormLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
    __glimpseFused?: boolean;
  };
  if (proto.__glimpseFused) return;
  const stockCall = proto.call;
  proto.call = function (this: LayerNormLike, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const axes = Array.isArray(this.axis) ? this.axis : [this.axis];
    const lastAxis = axes.length === 1 && (axes[0] === x.rank - 1 || axes[0] === -1);
    if (tf.getBackend() !== BACKEND || !lastAxis || !this.center || !this.scale || x.dtype !== 'float32' || !this.gamma || !this.beta) {
      return stockCall.call(this, inputs, kwargs);
    }
    return layerNormLastAxis(x, this.gamma.read(), this.beta.read(), this.epsilon);
  };
  proto.__glimpseFused = true;
}

