/**
 * tfjs's wasm backend in a browser page or worker with Glimpse's training kernels: its own
 * module so that a worker that only ever runs wasm (an encoder shard worker,
 * parallel/browser-shard-worker.ts) does not bundle the GPU backends.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerGlimpseWasmKernels } from './wasm/register-all-kernels';
import { hasRelaxedSimd, simdFileName, type SimdVariant } from './wasm/simd/module';
import { bindSimd } from './wasm/simd/tfjs-binding';

/**
 * Binds the single-thread SIMD kernels to the active wasm backend (relaxed-SIMD FMA where this
 * engine validates it). Returns the variant, or null when they could not be loaded.
 */
export async function bindBrowserSimd(simdDir: string): Promise<SimdVariant | null> {
  for (const relaxed of hasRelaxedSimd() ? [true, false] : [false]) {
    const variant: SimdVariant = { relaxed, threads: false };
    try {
      const response = await fetch(simdDir + simdFileName(variant));
      if (!response.ok) continue;
      await bindSimd(tf.backend() as unknown as BackendWasm, await WebAssembly.compile(await response.arrayBuffer()), variant);
      return variant;
    } catch {
      // try the next variant
    }
  }
  return null;
}

/**
 * Activates the wasm backend (tfjs's .wasm files from `wasmDir`, Glimpse's SIMD kernels from
 * `simdDir` when given); throws when it cannot be initialised here.
 */
export async function activateBrowserWasm(wasmDir?: string, simdDir?: string): Promise<void> {
  // In extension workers SharedArrayBuffer exists without cross-origin isolation, so tfjs
  // would pick the threaded build, whose blob: helper worker cannot load.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  registerGlimpseWasmKernels();
  if (wasmDir) setWasmPaths(wasmDir);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  await tf.ready();
  if (simdDir) await bindBrowserSimd(simdDir);
}
