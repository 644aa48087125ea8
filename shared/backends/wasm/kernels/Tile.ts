/**
 * Tile for wasm (float32, int32 and bool): copy the innermost run, then replicate blocks outward
 * with copyWithin — memory-bound work that the stock kernel does element by element (tfjs's
 * `where` tiles a broadcast bool condition this way, once per masked augmentation).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { byteOffset, heapBuffer, sizeOf } from '../heap';
import { wasmKernel, type KernelArgs, type TensorInfo } from '../kernel-utils';
import { callStock } from '../stock-kernels';

function tile(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const reps = attrs.reps as number[];
  if ((x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') || x.shape.length === 0) {
    return callStock('Tile', backend, inputs, attrs);
  }
  const s = x.shape;
  const r = s.length;
  const o = s.map((d, i) => d * reps[i]);
  const out = backend.makeOutput(o, x.dtype);
  if (sizeOf(o) === 0) return out;
  // Copy bit patterns: float32 and int32 as int32 (exact for both), bool as its one byte.
  const bytes = x.dtype === 'bool' ? 1 : 4;
  const h = bytes === 1 ? new Uint8Array(heapBuffer(backend)) : new Int32Array(heapBuffer(backend));
  const xo = byteOffset(backend, x) / bytes;
  const oo = byteOffset(backend, out) / bytes;
  // inner[i] = elements in one output block at level i (product of o[i+1..]).
  const inner = new Array<number>(r).fill(1);
  const srcStride = new Array<number>(r).fill(1);
  for (let i = r - 2; i >= 0; i--) {
    inner[i] = inner[i + 1] * o[i + 1];
    srcStride[i] = srcStride[i + 1] * s[i + 1];
  }
  const fill = (level: number, src: number, dst: number): void => {
    const len = s[level] * inner[level];
    if (level === r - 1) {
      const d = s[level];
      if (d * reps[level] <= 64) {
        let q = dst;
        for (let k = 0; k < reps[level]; k++) for (let j = 0; j < d; j++) h[q++] = h[src + j];
        return;
      }
      h.copyWithin(dst, src, src + d);
    } else {
      for (let j = 0; j < s[level]; j++) fill(level + 1, src + j * srcStride[level], dst + j * inner[level]);
    }
    // Replicate the first block reps[level] times by doubling.
    let have = 1;
    while (have < reps[level]) {
      const n = Math.min(have, reps[level] - have);
      h.copyWithin(dst + have * len, dst, dst + n * len);
      have += n;
    }
  };
  fill(0, xo, oo);
  return out;
}


export const tileConfig: tf.KernelConfig = wasmKernel('Tile', tile);
