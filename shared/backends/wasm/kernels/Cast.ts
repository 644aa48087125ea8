/**
 * Cast for wasm: a same-dtype cast shares the data by reference count like Identity (stock wasm
 * copies it); real conversions stay with the stock kernel.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { callStock } from '../stock-kernels';
import { identity } from './Identity';

function cast(args: KernelArgs): TensorInfo {
  const x = args.inputs.x!;
  if (args.attrs.dtype === x.dtype && x.dtype !== 'string') return identity(args);
  return callStock('Cast', args.backend, args.inputs, args.attrs);
}

export const castConfig: tf.KernelConfig = wasmKernel('Cast', cast);
