/**
 * GatherV2 for wasm (float32 and int32, batchDims 0): whole rows copied on the heap. Stock wasm
 * gathers element by element with index arithmetic per element: 5 ms for the layout-keeping
 * view's shift (shared/augment/shift-erase.ts: 32,768 three-float pixels out of the padded batch),
 * ~0.2 ms here. Out-of-range indices throw, as the cpu kernel's do.
 */
import * as tf from '@tensorflow/tfjs-core';
import { byteOffset, free, heapBuffer, sizeOf } from '../heap';
import { wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { callStock } from '../stock-kernels';

function gatherV2(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const indices = inputs.indices!;
  const batchDims = (attrs.batchDims as number | undefined) ?? 0;
  if (batchDims !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32' || x.shape.length === 0) {
    return callStock('GatherV2', backend, inputs, attrs);
  }
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const outer = sizeOf(x.shape.slice(0, axis));
  const dim = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const n = sizeOf(indices.shape);
  const out = backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
  if (outer * n * inner === 0) return out;
  // Bit copies: float32 moved as int32 is exact. The heap view is taken after the allocation.
  const h = new Int32Array(heapBuffer(backend));
  const xo = byteOffset(backend, x) / 4;
  const io = byteOffset(backend, indices) / 4;
  const oo = byteOffset(backend, out) / 4;
  for (let k = 0; k < n; k++) {
    const v = h[io + k];
    if (!(v >= 0 && v < dim)) {
      free(backend, out);
      throw new Error(`GatherV2: the index value ${v} is not in [0, ${dim - 1}]`);
    }
  }
  for (let o = 0; o < outer; o++) {
    const src = xo + o * dim * inner;
    let dst = oo + o * n * inner;
    for (let k = 0; k < n; k++, dst += inner) {
      const s = src + h[io + k] * inner;
      if (inner <= 16) for (let j = 0; j < inner; j++) h[dst + j] = h[s + j];
      else h.copyWithin(dst, s, s + inner);
    }
  }
  return out;
}

export const gatherV2Config: tf.KernelConfig = wasmKernel('GatherV2', gatherV2);
