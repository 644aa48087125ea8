/**
 * AvgPoolGrad for wasm (float32, dilation 1): each output gradient, times 1 / (filter area) as
 * every tfjs backend scales it, added to the input positions of its window — O(dy × window)
 * on the heap. The stock wasm kernel visits every input position and searches the windows that
 * cover it: 7.5 ms for the encoder's 2×2-grid pooling gradient ([64, 8, 8, 128], 4×4 windows),
 * ~1 ms here. Non-overlapping windows (the encoder's) give the stock result to the bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import { allocZeros, heapF32, off } from '../heap';
import { wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { callStock } from '../stock-kernels';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

function avgPoolGrad(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy!;
  const input = inputs.input!;
  if (dy.dtype !== 'float32' || input.shape.length !== 4) return callStock('AvgPoolGrad', backend, inputs, attrs);
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const dx = allocZeros(backend, input.shape);
  const h = heapF32(backend);
  const dyo = off(backend, dy);
  const dxo = off(backend, dx);
  const m = 1 / (info.filterHeight * info.filterWidth);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * info.strideHeight - info.padInfo.top;
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * info.strideWidth - info.padInfo.left;
        const g = dyo + ((b * OH + oy) * OW + ox) * C;
        for (let ky = Math.max(0, -y0); ky < info.filterHeight && y0 + ky < H; ky++) {
          for (let kx = Math.max(0, -x0); kx < info.filterWidth && x0 + kx < W; kx++) {
            const d = dxo + ((b * H + y0 + ky) * W + x0 + kx) * C;
            for (let c = 0; c < C; c++) h[d + c] += h[g + c] * m;
          }
        }
      }
    }
  }
  return dx;
}

export const avgPoolGradConfig: tf.KernelConfig = wasmKernel('AvgPoolGrad', avgPoolGrad);
