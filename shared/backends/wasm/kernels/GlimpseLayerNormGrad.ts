/**
 * GlimpseLayerNormGrad: the gradient of GlimpseLayerNorm over the last axis, two passes per row:
 *   g = dy * gamma, xhat = (x - mean) * rstd,
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
 *   dgamma = sum_rows dy * xhat,  dbeta = sum_rows dy.
 * Inputs dy, x [..., C], gamma [C], mean and rstd [rows]; outputs dx [..., C], dgamma [C], dbeta [C].
 * On Glimpse's SIMD kernels (../csrc/layer_norm.c) when they are bound, else in JS on the heap.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { alloc, byteOffset, heapF32, off, sizeOf } from '../heap';
import { checkFloat, wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { simdKernelsFor } from '../simd/tfjs-binding';

export const LAYER_NORM_GRAD = 'GlimpseLayerNormGrad';

function layerNormGrad(args: KernelArgs): TensorInfo[] {
  const { inputs, backend } = args;
  const dy = inputs.dy!;
  const x = inputs.x!;
  const gamma = inputs.gamma!;
  const mean = inputs.mean!;
  const rstd = inputs.rstd!;
  const C = x.shape[x.shape.length - 1];
  const R = sizeOf(x.shape) / C;
  const dx = alloc(backend, x.shape);
  const dgamma = alloc(backend, [C]);
  const dbeta = alloc(backend, [C]);
  checkFloat(LAYER_NORM_GRAD, dy, x, gamma);
  const simd = simdKernelsFor(backend);
  if (simd && R > 0 && C > 0) {
    const at = (t: TensorInfo) => byteOffset(backend, t);
    simd.layerNormGrad(R, C, at(dy), at(x), at(gamma), at(mean), at(rstd), at(dx), at(dgamma), at(dbeta));
    return [dx, dgamma, dbeta];
  }
  const h = heapF32(backend);
  const dyo = off(backend, dy);
  const xo = off(backend, x);
  const go = off(backend, gamma);
  const mo = off(backend, mean);
  const ro = off(backend, rstd);
  const dxo = off(backend, dx);
  const dg = new Float64Array(C);
  const db = new Float64Array(C);
  for (let r = 0; r < R; r++) {
    const b = r * C;
    const mu = h[mo + r];
    const rs = h[ro + r];
    let sg = 0;
    let sgx = 0;
    for (let c = 0; c < C; c++) {
      const d = h[dyo + b + c];
      const xh = (h[xo + b + c] - mu) * rs;
      const g = d * h[go + c];
      sg += g;
      sgx += g * xh;
      dg[c] += d * xh;
      db[c] += d;
    }
    sg /= C;
    sgx /= C;
    for (let c = 0; c < C; c++) {
      const xh = (h[xo + b + c] - mu) * rs;
      h[dxo + b + c] = rs * (h[dyo + b + c] * h[go + c] - sg - xh * sgx);
    }
  }
  h.set(dg, off(backend, dgamma));
  h.set(db, off(backend, dbeta));
  return [dx, dgamma, dbeta];
}

export const layerNormGradConfig: tf.KernelConfig = wasmKernel(LAYER_NORM_GRAD, layerNormGrad);
