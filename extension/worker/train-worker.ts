/**
 * The training Web Worker: exposes the trainer API with comlink. Backends are tried in the
 * plan's order (webgpu → webgl → wasm with Glimpse's training kernels and multithreading off →
 * cpu); the wasm binaries (tfjs's and Glimpse's SIMD kernels) ship in the extension's `wasm/` folder.
 */
import { expose } from 'comlink';
import { initBrowserBackend, wasmThreadsInUse } from '../../shared/backends/browser-backend';
import { createTrainerApi } from './trainer-api';

const wasmDir = new URL('./wasm/', self.location.href).href;
// Glimpse's SIMD kernels ship next to tfjs's .wasm files (scripts/build-extension.ts).
// The SIMD kernels run on `threads` threads where the extension page is cross-origin isolated.
expose(createTrainerApi((order, softwareGpu, threads) => initBrowserBackend([...order], wasmDir, { softwareGpu, simdDir: wasmDir, threads }), undefined, wasmThreadsInUse));
