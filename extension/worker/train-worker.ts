/**
 * The training Web Worker: exposes the trainer API with comlink. Backends are tried in the
 * plan's order (webgpu → webgl → wasm with Glimpse's training kernels and multithreading off →
 * cpu); the wasm binaries (tfjs's and Glimpse's SIMD kernels) ship in the extension's `wasm/` folder.
 */
import { expose } from 'comlink';
import { initBrowserBackend, wasmThreadsInUse } from '../../shared/backends/browser-backend';
import { createTrainerApi } from './trainer-api';
import { SHARD_WORKER_FILE } from '../../shared/parallel/shard-protocol';

const wasmDir = new URL('./wasm/', self.location.href).href;
// Glimpse's SIMD kernels ship next to tfjs's .wasm files (scripts/build-extension.ts).
// Where the extension page is cross-origin isolated, a step runs on `threads` threads: its encoder
// passes split across encoder shard workers (shard-worker.js, next to this bundle), or else its
// kernels across the SIMD kernel pool.
const shardWorkerUrl = new URL(`./${SHARD_WORKER_FILE}`, self.location.href).href;
expose(createTrainerApi((order, softwareGpu, threads, parallel) => initBrowserBackend([...order], wasmDir, { softwareGpu, simdDir: wasmDir, threads, parallel, shardWorkerUrl }), undefined, wasmThreadsInUse));
