/**
 * FusedConv2D (conv + bias + activation; tfjs-layers' Conv2D runs as this kernel) for wasm on
 * Glimpse's SIMD implicit GEMM, with bias and ReLU applied in the micro-kernel's epilogue while
 * the tile is still in registers. Other activations, a bias that is not [Co], and calls the SIMD
 * kernels do not support take stock XNNPACK.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { byteOffset } from '../heap';
import { wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { isEmpty, simdConvCall } from '../simd/kernel-support';
import { callStock } from '../stock-kernels';

function fusedConv2D(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const filter = inputs.filter!;
  const bias = inputs.bias;
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  const call = activation === 'linear' || activation === 'relu'
    ? simdConvCall(backend, x.shape, filter.shape, attrs, x, filter, ...(bias ? [bias] : []))
    : null;
  const biasOk = bias == null || (bias.shape.length === 1 && bias.shape[0] === filter.shape[3]);
  if (call == null || !biasOk || inputs.preluActivationWeights != null) return callStock('FusedConv2D', backend, inputs, attrs);
  const out = backend.makeOutput(call.info.outShape, 'float32');
  if (!isEmpty(out.shape)) {
    call.conv.forward(call.info, byteOffset(backend, x), byteOffset(backend, filter), bias ? byteOffset(backend, bias) : 0, byteOffset(backend, out), activation === 'relu');
  }
  return out;
}

export const fusedConv2DConfig: tf.KernelConfig = wasmKernel('FusedConv2D', fusedConv2D);
