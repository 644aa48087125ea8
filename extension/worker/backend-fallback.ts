/**
 * Stand-in for shared/backends/browser-backend.ts while that module does not exist yet: the
 * build uses it only when the shared one is missing (and says so). Tries backends in order.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerGlimpseWasmKernels } from '../../shared/backends/wasm-kernels';

export async function initBrowserBackend(order: string[], wasmDir: string): Promise<string> {
  for (const name of order) {
    try {
      if (name === 'webgpu' && !(await (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter())) continue;
      if (name === 'wasm') {
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
        setWasmPaths(wasmDir);
        registerGlimpseWasmKernels();
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        return tf.getBackend();
      }
    } catch {
      // try the next one
    }
  }
  throw new Error(`no tfjs backend out of ${order.join(', ')} initialised`);
}
