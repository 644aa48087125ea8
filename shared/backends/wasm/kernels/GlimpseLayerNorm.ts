/**
 * GlimpseLayerNorm: LayerNormalization over the last axis in one pass per row on the heap
 * (Ba et al. 2016, "Layer Normalization"):
 *   y = (x - mean) * rstd * gamma + beta,  rstd = 1 / sqrt(var + eps).
 * Inputs x [..., C], gamma [C], beta [C]; outputs y [..., C], mean [rows], rstd [rows] (saved
 * for GlimpseLayerNormGrad).
 *
 * tfjs-layers' LayerNormalization tiles mean, variance, gamma and beta to the full input shape
 * and calls batchNorm; with its gradient that is ~40 full-size elementwise kernels per layer,
 * where these two kernels make ~4 passes over the data: on Glimpse's SIMD kernels
 * (../csrc/layer_norm.c) when they are bound, else in JS on the heap.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { alloc, byteOffset, heapF32, off, sizeOf } from '../heap';
import { checkFloat, wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { simdKernelsFor } from '../simd/tfjs-binding';

export const LAYER_NORM = 'GlimpseLayerNorm';

function layerNormFwd(args: KernelArgs): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const gamma = inputs.gamma!;
  const beta = inputs.beta!;
  checkFloat(LAYER_NORM, x, gamma, beta);
  const eps = attrs.epsilon as number;
  const C = x.shape[x.shape.length - 1];
  const R = sizeOf(x.shape) / C;
  const y = alloc(backend, x.shape);
  const mean = alloc(backend, [R]);
  const rstd = alloc(backend, [R]);
  const simd = simdKernelsFor(backend);
  if (simd && R > 0 && C > 0) {
    const at = (t: TensorInfo) => byteOffset(backend, t);
    simd.layerNorm(R, C, eps, at(x), at(gamma), at(beta), at(y), at(mean), at(rstd));
    return [y, mean, rstd];
  }
  const h = heapF32(backend);
  const xo = off(backend, x);
  const yo = off(backend, y);
  const go = off(backend, gamma);
  const bo = off(backend, beta);
  const mo = off(backend, mean);
  const ro = off(backend, rstd);
  for (let r = 0; r < R; r++) {
    const b = xo + r * C;
    // One pass in float64: E[x^2] - E[x]^2 loses nothing measurable for float32 inputs unless
    // |mean| / std exceeds ~1e5, which a normalisation input never approaches.
    let s = 0;
    let s2 = 0;
    for (let c = 0; c < C; c++) {
      const v = h[b + c];
      s += v;
      s2 += v * v;
    }
    const mu = s / C;
    const rs = 1 / Math.sqrt(Math.max(0, s2 / C - mu * mu) + eps);
    const yb = yo + r * C;
    for (let c = 0; c < C; c++) h[yb + c] = (h[b + c] - mu) * rs * h[go + c] + h[bo + c];
    h[mo + r] = mu;
    h[ro + r] = rs;
  }
  return [y, mean, rstd];
}

export const layerNormConfig: tf.KernelConfig = wasmKernel(LAYER_NORM, layerNormFwd);
