/**
 * Binds Glimpse's SIMD kernels to a tfjs-backend-wasm instance: the kernel module is
 * instantiated against tfjs's own WebAssembly.Memory, so kernels read and write tensors where
 * tfjs keeps them (zero copy) and take scratch memory from tfjs's malloc. A backend without a
 * binding keeps the XNNPACK-based kernels (kernels fall back per call).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { instantiateSimd, type SimdVariant } from './module';
import { createSimdKernels, type SimdKernels } from './simd-kernels';

/** The Emscripten module's internals we need (not in tfjs's typings). */
interface EmscriptenHeap {
  asm?: { memory?: WebAssembly.Memory };
  wasmMemory?: WebAssembly.Memory;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

const bindings = new WeakMap<object, SimdKernels>();

function emscripten(backend: BackendWasm): EmscriptenHeap {
  return backend.wasm as unknown as EmscriptenHeap;
}

/** tfjs-backend-wasm's linear memory. */
export function tfjsMemory(backend: BackendWasm): WebAssembly.Memory {
  const m = emscripten(backend);
  const memory = m.asm?.memory ?? m.wasmMemory;
  if (!(memory instanceof WebAssembly.Memory)) throw new Error('glimpse simd: tfjs-backend-wasm does not expose its memory');
  return memory;
}

/** The kernels bound to `backend`, or undefined (then kernels take their fallback path). */
export function simdKernelsFor(backend: BackendWasm): SimdKernels | undefined {
  return bindings.get(backend.wasm);
}

/** Binds a compiled single-thread kernel module (see simdFileName) to `backend`. */
export async function bindSimd(backend: BackendWasm, module: WebAssembly.Module, variant: SimdVariant): Promise<SimdKernels> {
  if (variant.threads) throw new Error('glimpse simd: tfjs-backend-wasm\'s memory is not shared; bind a single-thread variant');
  const m = emscripten(backend);
  const instance = await instantiateSimd(module, tfjsMemory(backend), variant);
  const kernels = createSimdKernels(instance, { malloc: (n) => m._malloc(n), free: (p) => m._free(p) });
  bindings.set(backend.wasm, kernels);
  return kernels;
}

/** Replaces the binding (the worker pool's) or removes it (undefined: fallback kernels). */
export function setSimdKernels(backend: BackendWasm, kernels: SimdKernels | undefined): void {
  if (kernels) bindings.set(backend.wasm, kernels);
  else bindings.delete(backend.wasm);
}
