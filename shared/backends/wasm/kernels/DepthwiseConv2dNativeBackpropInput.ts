/**
 * DepthwiseConv2dNativeBackpropInput for wasm (missing from stock tfjs-backend-wasm 4.22).
 * Filter [kh, kw, C, mult]; output channel c*mult+m reads input channel c. Depthwise FLOPs are
 * small next to the dense convs', so a direct JS loop is enough.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { allocZeros, heapF32, off } from '../heap';
import { checkDilations, checkFloat, convInfo, wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';

function depthwiseBackpropInput(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy!;
  const filter = inputs.filter!;
  checkDilations('DepthwiseConv2dNativeBackpropInput', attrs.dilations);
  checkFloat('DepthwiseConv2dNativeBackpropInput', dy, filter);
  const inputShape = attrs.inputShape as number[];
  const info = convInfo(inputShape, filter.shape, attrs, true);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const mult = filter.shape[3];
  const Co = C * mult;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const dx = allocZeros(backend, inputShape);
  const h = heapF32(backend);
  const fo = off(backend, filter);
  const dyo = off(backend, dy);
  const xo = off(backend, dx);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        const g = dyo + ((n * Ho + oy) * Wo + ox) * Co;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh + ky - pt;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw + kx - pl;
            if (ix < 0 || ix >= W) continue;
            const d = xo + ((n * H + iy) * W + ix) * C;
            const f = fo + (ky * kw + kx) * Co;
            if (mult === 1) {
              for (let c = 0; c < C; c++) h[d + c] += h[g + c] * h[f + c];
            } else {
              for (let c = 0; c < C; c++) {
                let s = 0;
                for (let m = 0; m < mult; m++) s += h[g + c * mult + m] * h[f + c * mult + m];
                h[d + c] += s;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}


export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = wasmKernel('DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput);
