/**
 * Heap helpers for kernels that work on tfjs-backend-wasm's linear memory directly.
 *
 * All float data of the wasm backend lives in one linear memory; we address it with one
 * Float32Array over the whole heap and element offsets. The heap can grow (and its ArrayBuffer
 * be replaced) on any allocation, so take `heapF32` only after allocating.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;

/** The Emscripten module's heap view (typed by @types/emscripten, which we don't depend on). */
export function heapBuffer(backend: BackendWasm): ArrayBufferLike {
  return (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer;
}

export function heapF32(backend: BackendWasm): Float32Array {
  return new Float32Array(heapBuffer(backend));
}

/** Byte address of a tensor's data in the heap. */
export function byteOffset(backend: BackendWasm, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data == null || data.memoryOffset == null) throw new Error('glimpse wasm: tensor has no heap data');
  return data.memoryOffset;
}

/** Element offset (in float32 units) of a tensor's data in the heap. */
export function off(backend: BackendWasm, t: TensorInfo): number {
  return byteOffset(backend, t) >>> 2;
}

export function alloc(backend: BackendWasm, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

export function allocZeros(backend: BackendWasm, shape: number[]): TensorInfo {
  const t = alloc(backend, shape);
  const o = off(backend, t);
  heapF32(backend).fill(0, o, o + sizeOf(shape));
  return t;
}

export function free(backend: BackendWasm, t: TensorInfo): void {
  backend.disposeData(t.dataId);
}

/** A tensor that aliases `elemOffset` elements into `base`'s memory (no copy). */
export function alias(backend: BackendWasm, base: TensorInfo, elemOffset: number, shape: number[]): TensorInfo {
  const bytes = (off(backend, base) + elemOffset) * 4;
  return backend.makeOutput(shape, 'float32', bytes);
}

/** Forget an alias without freeing the memory it points into. */
export function releaseAlias(backend: BackendWasm, t: TensorInfo): void {
  const data = backend.dataIdMap.get(t.dataId);
  if (data == null) return;
  backend.wasm.tfjs.disposeData(data.id);
  backend.dataIdMap.delete(t.dataId);
}

export function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

/** dst[c * rows + r] = src[r * cols + c], tiled so both sides stay in cache. */
export function transpose2d(h: Float32Array, src: number, dst: number, rows: number, cols: number): void {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(r0 + T, rows);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(c0 + T, cols);
      for (let r = r0; r < r1; r++) {
        const s = src + r * cols;
        for (let c = c0; c < c1; c++) h[dst + c * rows + r] = h[s + c];
      }
    }
  }
}
