/**
 * An encoder shard worker in the browser (a module Web Worker of the extension's training worker,
 * started by browser-shard-workers.ts): its own tfjs wasm backend with Glimpse's single-thread
 * SIMD kernels, serving the trainer's shards (shard-service.ts). The bundle sits next to the
 * training worker's, so the kernels are in the same `wasm/` folder.
 */
import { activateBrowserWasm } from '../backends/browser-wasm';
import { serveShards } from './shard-service';
import type { ShardCommand } from './shard-protocol';

const wasmDir = new URL('./wasm/', self.location.href).href;

activateBrowserWasm(wasmDir, wasmDir).then(
  () => {
    serveShards(
      (handler) => self.addEventListener('message', (e: MessageEvent<ShardCommand>) => handler(e.data)),
      (e) => console.error('glimpse shard worker:', e),
    );
    self.postMessage('ready');
  },
  (e: unknown) => self.postMessage({ failed: String((e as Error)?.message ?? e) }),
);
