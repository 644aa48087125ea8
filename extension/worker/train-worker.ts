/**
 * The training Web Worker: exposes the trainer API with comlink. Backends are tried in the
 * plan's order (webgpu → webgl → wasm with Glimpse's training kernels and multithreading off →
 * cpu); the wasm binaries (tfjs's and Glimpse's SIMD kernels) ship in the extension's `wasm/` folder.
 */
import { expose } from 'comlink';
import { initBrowserBackend } from '../../shared/backends/browser-backend';
import { createTrainerApi } from './trainer-api';

const wasmDir = new URL('./wasm/', self.location.href).href;
// Glimpse's SIMD kernels ship next to tfjs's .wasm files (scripts/build-extension.ts).
expose(createTrainerApi((order, softwareGpu) => initBrowserBackend([...order], wasmDir, { softwareGpu, simdDir: wasmDir })));
