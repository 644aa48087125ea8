/**
 * MatMul operands for XNNPACK: stock wasm uses XNNPACK only for batch 1 without transposes, so
 * our MatMul kernels transpose in JS and split batches into batch-1 calls on aliases of the inputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { alias, alloc, free, heapF32, off, releaseAlias, sizeOf, transpose2d } from './heap';
import type { TensorInfo } from './kernel-utils';

export interface MatMulPlan {
  batch: number;
  batchA: number;
  batchB: number;
  m: number;
  k: number;
  n: number;
  outShape: number[];
}

export function planMatMul(a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean): MatMulPlan {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = tA ? a.shape[ra - 1] : a.shape[ra - 2];
  const ka = tA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = tB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = tB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (ka !== kb) throw new Error(`glimpse wasm MatMul: inner shapes ${ka} and ${kb} must match`);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  return { batch: Math.max(batchA, batchB), batchA, batchB, m, k: ka, n, outShape: [...outer, m, n] };
}

/**
 * One [rows, cols] matrix of `t` (batch `i`), as a [1, rows, cols] tensor (the rank the stock
 * kernels expect) in untransposed layout: an alias when
 * no transpose is needed, else a JS-transposed copy. Returns the tensor and how to release it.
 */
export function operand(
  backend: BackendWasm,
  t: TensorInfo,
  i: number,
  transposed: boolean,
  rows: number,
  cols: number,
): [TensorInfo, () => void] {
  if (!transposed) {
    const v = alias(backend, t, i * rows * cols, [1, rows, cols]);
    return [v, () => releaseAlias(backend, v)];
  }
  const c = alloc(backend, [1, rows, cols]);
  transpose2d(heapF32(backend), off(backend, t) + i * rows * cols, off(backend, c), cols, rows);
  return [c, () => free(backend, c)];
}

