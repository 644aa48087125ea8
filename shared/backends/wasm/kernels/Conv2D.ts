/**
 * Conv2D for wasm on Glimpse's SIMD implicit GEMM (../csrc/igemm.c); stock XNNPACK where the
 * SIMD kernels are not loaded or the call is not float32 NHWC without dilation.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { byteOffset } from '../heap';
import { wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { isEmpty, simdConvCall } from '../simd/kernel-support';
import { callStock } from '../stock-kernels';

function conv2D(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const filter = inputs.filter!;
  const call = simdConvCall(backend, x.shape, filter.shape, attrs, x, filter);
  if (call == null) return callStock('Conv2D', backend, inputs, attrs);
  const out = backend.makeOutput(call.info.outShape, 'float32');
  if (!isEmpty(out.shape)) call.conv.forward(call.info, byteOffset(backend, x), byteOffset(backend, filter), 0, byteOffset(backend, out), false);
  return out;
}

export const conv2DConfig: tf.KernelConfig = wasmKernel('Conv2D', conv2D);
