/**
 * Identity for wasm: stock wasm copies the data; share it by reference count instead, as the cpu
 * backend and wasm's own Reshape do (tensors are immutable). tfjs-layers and the gradient tape
 * call Identity hundreds of times per step.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';

export function identity(args: KernelArgs): TensorInfo {
  const x = args.inputs.x!;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: tf.KernelConfig = wasmKernel('Identity', identity);
