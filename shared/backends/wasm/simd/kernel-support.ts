/**
 * When a conv kernel call can run on Glimpse's SIMD kernels: float32 NHWC tensors, no dilation,
 * and a binding for this backend. Anything else takes the kernel's fallback path.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Attrs, TensorInfo } from '../kernel-utils';
import type { SimdKernels } from './simd-kernels';
import { simdKernelsFor } from './tfjs-binding';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

function isNHWC(dataFormat: unknown): boolean {
  return dataFormat == null || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}

function noDilation(dilations: unknown): boolean {
  if (dilations == null) return true;
  const d = typeof dilations === 'number' ? [dilations, dilations] : (dilations as number[]);
  return d.every((v) => v === 1);
}

/** The SIMD kernels and the conv geometry, or null when this call must take the fallback. */
export function simdConvCall(
  backend: BackendWasm,
  xShape: number[],
  filterShape: number[],
  attrs: Attrs,
  ...tensors: TensorInfo[]
): { conv: SimdKernels; info: tf.backend_util.Conv2DInfo } | null {
  const conv = simdKernelsFor(backend);
  if (conv == null || !isNHWC(attrs.dataFormat) || !noDilation(attrs.dilations)) return null;
  if (tensors.some((t) => t.dtype !== 'float32')) return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
  return { conv, info };
}

export function isEmpty(shape: readonly number[]): boolean {
  return shape.some((d) => d === 0);
}
