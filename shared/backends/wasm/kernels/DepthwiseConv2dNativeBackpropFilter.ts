/**
 * DepthwiseConv2dNativeBackpropFilter for wasm (missing from stock tfjs-backend-wasm 4.22).
 * Filter [kh, kw, C, mult]; output channel c*mult+m reads input channel c. Depthwise FLOPs are
 * small next to the dense convs', so a direct JS loop with float64 accumulation is enough.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { alloc, heapF32, off } from '../heap';
import { checkDilations, checkFloat, convInfo, wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';

function depthwiseBackpropFilter(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const dy = inputs.dy!;
  checkDilations('DepthwiseConv2dNativeBackpropFilter', attrs.dilations);
  checkFloat('DepthwiseConv2dNativeBackpropFilter', x, dy);
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs, true);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const mult = filterShape[3];
  const Co = C * mult;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const acc = new Float64Array(kh * kw * Co);
  const h = heapF32(backend);
  const xo = off(backend, x);
  const dyo = off(backend, dy);
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
            const xs = xo + ((n * H + iy) * W + ix) * C;
            const a = (ky * kw + kx) * Co;
            if (mult === 1) {
              for (let c = 0; c < C; c++) acc[a + c] += h[xs + c] * h[g + c];
            } else {
              for (let c = 0; c < C; c++) {
                const xv = h[xs + c];
                for (let m = 0; m < mult; m++) acc[a + c * mult + m] += xv * h[g + c * mult + m];
              }
            }
          }
        }
      }
    }
  }
  const out = alloc(backend, filterShape);
  heapF32(backend).set(acc, off(backend, out));
  return out;
}


export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = wasmKernel('DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter);
