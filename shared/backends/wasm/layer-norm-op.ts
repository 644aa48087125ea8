/**
 * LayerNorm over the last axis as one op with its own gradient: the fused GlimpseLayerNorm /
 * GlimpseLayerNormGrad kernels on wasm, the plain op composition on every other backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND } from './kernel-utils';
import { LAYER_NORM } from './kernels/GlimpseLayerNorm';
import { LAYER_NORM_GRAD } from './kernels/GlimpseLayerNormGrad';

/**
 * y = (x − mean) / sqrt(var + ε) · gamma + beta over the last axis (Ba et al. 2016).
 * x [..., C], gamma [C], beta [C] → [..., C].
 */
export function layerNormLastAxis(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  if (tf.getBackend() !== BACKEND || tf.getKernel(LAYER_NORM, BACKEND) == null) {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon))), gamma), beta);
    });
  }
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [y, mean, rstd] = tf.engine().runKernel(LAYER_NORM, { x: xi, gamma: g, beta: b }, { epsilon }) as tf.Tensor[];
    save([xi, g, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, ms, rs] = saved;
        return tf.engine().runKernel(LAYER_NORM_GRAD, { dy, x: xs, gamma: gs, mean: ms, rstd: rs }, {}) as tf.Tensor[];
      },
    };
  });
  return f(x, gamma, beta);
}

