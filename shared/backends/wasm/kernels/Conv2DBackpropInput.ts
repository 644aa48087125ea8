/**
 * Conv2DBackpropInput (stock tfjs-backend-wasm's is a scalar loop) for wasm:
 *   dx[n,iy,ix,ci] = sum dy[n,oy,ox,co] W[ky,kx,ci,co] over iy = oy*s+ky-pt,
 * on Glimpse's SIMD implicit GEMM as s×s sub-pixel stride-1 convolutions (../simd/conv-plan.ts),
 * or on XNNPACK (../fallback/conv2d-backprop-input-xnnpack.ts) where the SIMD kernels are not loaded.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { byteOffset } from '../heap';
import { checkFloat, checkNHWC, wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { isEmpty, simdConvCall } from '../simd/kernel-support';
import { conv2DBackpropInputXnnpack } from '../fallback/conv2d-backprop-input-xnnpack';

function conv2DBackpropInput(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy!;
  const filter = inputs.filter!;
  checkNHWC('Conv2DBackpropInput', attrs.dataFormat);
  checkFloat('Conv2DBackpropInput', dy, filter);
  const inputShape = attrs.inputShape as number[];
  const call = simdConvCall(backend, inputShape, filter.shape, attrs, dy, filter);
  if (call == null) return conv2DBackpropInputXnnpack(args);
  const dx = backend.makeOutput(inputShape, 'float32');
  if (!isEmpty(inputShape)) call.conv.backpropInput(call.info, byteOffset(backend, dy), byteOffset(backend, filter), byteOffset(backend, dx));
  return dx;
}

export const conv2DBackpropInputConfig: tf.KernelConfig = wasmKernel('Conv2DBackpropInput', conv2DBackpropInput);
