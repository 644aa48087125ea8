/**
 * Backend selection for Node (contributors, tests, benches): wasm with Glimpse's training
 * kernels, else tfjs's pure-JS cpu backend (correct but ~500x slower to train a conv net).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { silenceTfjsNodeBanner } from './quiet-tfjs';
import { registerGlimpseWasmKernels } from './wasm-kernels';

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
  silenceTfjsNodeBanner();
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
