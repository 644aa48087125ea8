/**
 * What Glimpse's wasm kernels share besides the heap: their argument types, attribute checks
 * with clear errors, and conv geometry.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type TensorInfo = tf.TensorInfo;
export type Attrs = Record<string, unknown>;
export type KernelInputs = Record<string, TensorInfo | undefined>;

/** What tfjs passes a kernel function on the wasm backend. */
export interface KernelArgs {
  inputs: KernelInputs;
  backend: BackendWasm;
  attrs: Attrs;
}

export const BACKEND = 'wasm';

/** A kernel config for the wasm backend, typed for our kernel functions. */
export function wasmKernel(kernelName: string, kernelFunc: (args: KernelArgs) => TensorInfo | TensorInfo[]): tf.KernelConfig {
  return { kernelName, backendName: BACKEND, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

export function checkNHWC(kernel: string, dataFormat: unknown): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`glimpse wasm ${kernel}: only dataFormat 'NHWC' is supported, got '${String(dataFormat)}'`);
  }
}

export function checkDilations(kernel: string, dilations: unknown): void {
  if (dilations == null) return;
  const d = typeof dilations === 'number' ? [dilations, dilations] : (dilations as number[]);
  if (d.some((v) => v !== 1)) {
    throw new Error(`glimpse wasm ${kernel}: only dilations 1 are supported, got [${d.join(', ')}]`);
  }
}

export function checkFloat(kernel: string, ...ts: TensorInfo[]): void {
  for (const t of ts) {
    if (t.dtype !== 'float32') throw new Error(`glimpse wasm ${kernel}: only float32 is supported, got ${t.dtype}`);
  }
}

export function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: Attrs,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    depthwise,
    'channelsLast',
  );
}
