/**
 * Backend selection for Node (contributors, tests, benches): wasm with Glimpse's training
 * kernels, else tfjs's pure-JS cpu backend (correct, but it runs convolutions' gradients as scalar
 * JS loops: orders of magnitude slower to train a conv net; figures in `npm run bench:step`).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerGlimpseWasmKernels } from './wasm/register-all-kernels';

/** Directory (with trailing slash) holding tfjs-backend-wasm's .wasm binaries. */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep;
}

let wasmPathsSet = false;

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
        return tf.getBackend();
      }
    } catch {
      // try the next one
    }
  }
  throw new Error('no tfjs backend could be initialised');
}
