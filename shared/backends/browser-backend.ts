/**
 * Backend selection in a browser page or worker: the first of `order` that initialises.
 * WebGPU and WebGL need a GPU (or SwiftShader); wasm runs everywhere with Glimpse's training
 * kernels; cpu is the slow last resort.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerTileGradient } from './tile-gradient';
import { registerGlimpseWasmKernels } from './wasm-kernels';

export type BrowserBackend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/**
 * @param order backends to try, best first.
 * @param wasmDir URL prefix (trailing slash) of the tfjs-backend-wasm .wasm files, e.g. the
 *   extension's `chrome.runtime.getURL('wasm/')`; by default tfjs looks next to the script.
 * @returns the name of the active backend.
 */
export async function initBrowserBackend(
  order: BrowserBackend[] = ['webgpu', 'webgl', 'wasm', 'cpu'],
  wasmDir?: string,
): Promise<string> {
  // Every backend trains with the fast Tile gradient (LayerNorm's gamma/beta tiling).
  registerTileGradient();
  for (const name of order) {
    try {
      if (name === 'wasm') {
        // In extension workers SharedArrayBuffer exists without cross-origin isolation, so tfjs
        // would pick the threaded build, whose blob: helper worker cannot load.
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
        registerGlimpseWasmKernels();
        if (wasmDir) setWasmPaths(wasmDir);
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        return tf.getBackend();
      }
    } catch {
      // fall through to the next backend
    }
  }
  throw new Error(`none of the backends ${order.join(', ')} could be initialised`);
}
