/**
 * Conv2DBackpropFilter (missing from stock tfjs-backend-wasm 4.22) for wasm:
 *   dW[ky,kx,ci,co] = sum_{n,oy,ox} x[n, oy*s+ky-pt, ox*s+kx-pl, ci] dy[n,oy,ox,co]
 * on Glimpse's SIMD kernel (../csrc/conv2d_backprop_filter.c), or on XNNPACK
 * (../fallback/conv2d-backprop-filter-xnnpack.ts) where the SIMD kernels are not loaded.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { byteOffset, heapF32, off, sizeOf } from '../heap';
import { checkFloat, checkNHWC, wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { isEmpty, simdConvCall } from '../simd/kernel-support';
import { conv2DBackpropFilterXnnpack } from '../fallback/conv2d-backprop-filter-xnnpack';

function conv2DBackpropFilter(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const dy = inputs.dy!;
  checkNHWC('Conv2DBackpropFilter', attrs.dataFormat);
  checkFloat('Conv2DBackpropFilter', x, dy);
  const filterShape = attrs.filterShape as number[];
  const call = simdConvCall(backend, x.shape, filterShape, attrs, x, dy);
  if (call == null) return conv2DBackpropFilterXnnpack(args);
  const dw = backend.makeOutput(filterShape, 'float32');
  if (isEmpty(filterShape)) return dw;
  if (isEmpty(x.shape) || isEmpty(dy.shape)) {
    const o = off(backend, dw);
    heapF32(backend).fill(0, o, o + sizeOf(filterShape));
    return dw;
  }
  call.conv.backpropFilter(call.info, byteOffset(backend, x), byteOffset(backend, dy), byteOffset(backend, dw));
  return dw;
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = wasmKernel('Conv2DBackpropFilter', conv2DBackpropFilter);
