/**
 * Backend selection for Node (contributors, tests, benches): wasm with Glimpse's training
 * kernels (its SIMD convolution kernels when dist/wasm/ has them built), else tfjs's pure-JS cpu backend (correct, but it runs convolutions' gradients as scalar
 * JS loops: orders of magnitude slower to train a conv net; figures in `npm run bench:step`).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerGlimpseWasmKernels } from './wasm/register-all-kernels';
import { compileNodeSimd } from './wasm/simd/node-simd';
import { bindSimd, simdKernelsFor } from './wasm/simd/tfjs-binding';

/** Directory (with trailing slash) holding tfjs-backend-wasm's .wasm binaries. */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep;
}

let wasmPathsSet = false;
let warnedNoSimd = false;

/**
 * Binds Glimpse's SIMD conv kernels to the active wasm backend (once per backend instance).
 * Without built binaries it says so once and the XNNPACK-based kernels stay in use.
 */
async function bindNodeSimd(): Promise<void> {
  const backend = tf.backend() as unknown as BackendWasm;
  if (simdKernelsFor(backend)) return;
  const compiled = await compileNodeSimd(false);
  if (compiled == null) {
    if (!warnedNoSimd) process.stderr.write('glimpse: SIMD kernels not built (npm run build:wasm); training on XNNPACK-based kernels\n');
    warnedNoSimd = true;
    return;
  }
  await bindSimd(backend, compiled.module, compiled.variant);
}

/**
 * Registers Glimpse's kernels, then activates `preferred` ('wasm' by default), falling back to
 * 'cpu' if it fails to initialise. Returns the name of the active backend.
 */
export async function initNodeBackend(preferred: 'wasm' | 'cpu' = 'wasm'): Promise<string> {
  registerGlimpseWasmKernels();
  if (!wasmPathsSet) {
    setWasmPaths(wasmBinaryDir());
    wasmPathsSet = true;
  }
  for (const name of preferred === 'wasm' ? ['wasm', 'cpu'] : ['cpu']) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        if (name === 'wasm') await bindNodeSimd();
        return tf.getBackend();
      }
    } catch {
      // try the next one
    }
  }
  throw new Error('no tfjs backend could be initialised');
}
