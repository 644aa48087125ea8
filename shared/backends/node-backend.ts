/**
 * Backend selection for Node (contributors, tests, benches): wasm with Glimpse's training
 * kernels (the SIMD conv and LayerNorm kernels when dist/wasm/ has them built, on one thread or a
 * worker pool), else tfjs's pure-JS cpu backend (correct, but it runs convolutions' gradients as
 * scalar JS loops: orders of magnitude slower to train a conv net; see `npm run bench:step`).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerGlimpseWasmKernels } from './wasm/register-all-kernels';
import { compileNodeSimd, createNodeSimdPool } from './wasm/simd/node-simd';
import type { SimdPool } from './wasm/simd/pool';
import { createPooledKernels } from './wasm/simd/pooled-kernels';
import type { SimdKernels } from './wasm/simd/simd-kernels';
import { bindSimd, setSimdKernels, tfjsMemory } from './wasm/simd/tfjs-binding';

/** Directory (with trailing slash) holding tfjs-backend-wasm's .wasm binaries. */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep;
}

let wasmPathsSet = false;
let warnedNoSimd = false;
/** Worker pools by thread count, kept for the process: switching back and forth is free. */
const pools = new Map<number, Promise<SimdPool | null>>();
/** The single-thread (zero-copy) binding of each backend instance. */
const singleThread = new WeakMap<BackendWasm, SimdKernels>();

export interface NodeBackendOptions {
  /**
   * Threads for Glimpse's SIMD kernels on wasm (default 1): above 1, a worker_threads pool runs
   * every conv and LayerNorm kernel on all of them (the rest of a step stays on this thread).
   */
  threads?: number;
}

/**
 * Binds Glimpse's SIMD kernels to the active wasm backend: zero-copy on tfjs's own heap for one
 * thread, through a worker pool for more. Without built binaries it says so once and the
 * XNNPACK-based kernels stay in use.
 */
async function bindNodeSimd(threads: number): Promise<void> {
  const backend = tf.backend() as unknown as BackendWasm;
  if (threads > 1) {
    if (!pools.has(threads)) pools.set(threads, createNodeSimdPool(threads));
    const pool = await pools.get(threads)!;
    if (pool != null) return setSimdKernels(backend, createPooledKernels(pool, tfjsMemory(backend)));
  }
  const bound = singleThread.get(backend);
  if (bound) return setSimdKernels(backend, bound);
  const compiled = await compileNodeSimd(false);
  if (compiled == null) {
    if (!warnedNoSimd) process.stderr.write('glimpse: SIMD kernels not built (npm run build:wasm); training on XNNPACK-based kernels\n');
    warnedNoSimd = true;
    return;
  }
  singleThread.set(backend, await bindSimd(backend, compiled.module, compiled.variant));
}

/**
 * Registers Glimpse's kernels, then activates `preferred` ('wasm' by default), falling back to
 * 'cpu' if it fails to initialise. Returns the name of the active backend. Calling it again
 * re-binds the kernels (e.g. with another thread count).
 */
export async function initNodeBackend(preferred: 'wasm' | 'cpu' = 'wasm', o: NodeBackendOptions = {}): Promise<string> {
  const threads = o.threads ?? 1;
  if (!(Number.isInteger(threads) && threads >= 1)) throw new Error(`threads must be a positive integer, got ${threads}`);
  registerGlimpseWasmKernels();
  if (!wasmPathsSet) {
    setWasmPaths(wasmBinaryDir());
    wasmPathsSet = true;
  }
  for (const name of preferred === 'wasm' ? ['wasm', 'cpu'] : ['cpu']) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        if (name === 'wasm') await bindNodeSimd(threads);
        return tf.getBackend();
      }
    } catch {
      // try the next one
    }
  }
  throw new Error('no tfjs backend could be initialised');
}
