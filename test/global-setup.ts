/**
 * Once per test run: builds Glimpse's WebAssembly SIMD kernels into dist/wasm/ (a no-op when they
 * are newer than their sources), so that tests exercise them as contributors run them.
 */
import { buildWasm } from '../scripts/build-wasm';

export default function setup(): void {
  buildWasm();
}
