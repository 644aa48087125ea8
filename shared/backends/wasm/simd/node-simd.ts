/**
 * Node host of the SIMD kernels: finds the built binaries (dist/wasm/, see scripts/build-wasm.ts),
 * turns on relaxed SIMD where this Node's V8 has it behind a flag (Node 20), compiles the best
 * variant once per process, and starts worker_threads pools.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { hasRelaxedSimd, simdFileName, type SimdVariant } from './module';
import { createSimdPool, type SimdPool } from './pool';

/** Directory of the built kernel binaries. */
export const SIMD_WASM_DIR = fileURLToPath(new URL('../../../../dist/wasm/', import.meta.url));

/** Relaxed SIMD is on by default from V8 11.4 (Node 22); Node 20's V8 has it behind a flag. */
export function enableRelaxedSimd(): boolean {
  if (hasRelaxedSimd()) return true;
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return hasRelaxedSimd();
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * The compiled kernel module for `threads` (relaxed SIMD when available and built), or null
 * when no binary is built here.
 */
export async function compileNodeSimd(threads: boolean): Promise<{ module: WebAssembly.Module; variant: SimdVariant } | null> {
  const candidates: SimdVariant[] = enableRelaxedSimd() ? [{ relaxed: true, threads }, { relaxed: false, threads }] : [{ relaxed: false, threads }];
  for (const variant of candidates) {
    const file = SIMD_WASM_DIR + simdFileName(variant);
    if (!fs.existsSync(file)) continue;
    let module = compiled.get(file);
    if (module == null) {
      module = WebAssembly.compile(fs.readFileSync(file));
      compiled.set(file, module);
    }
    return { module: await module, variant };
  }
  return null;
}

const WORKER_FILE = fileURLToPath(new URL('./pool-worker.mjs', import.meta.url));

/** A pool of `threads` threads (this one and threads − 1 worker_threads), or null without binaries. */
export async function createNodeSimdPool(threads: number): Promise<SimdPool | null> {
  const compiled = await compileNodeSimd(true);
  if (compiled == null) return null;
  return createSimdPool(compiled.module, compiled.variant, threads, (onMessage, onError) => {
    const w = new Worker(WORKER_FILE);
    w.on('message', (m) => {
      // Once started, a worker blocks in Atomics.wait between jobs; it must not keep the process alive.
      if (m === 'ready') w.unref();
      onMessage(m);
    });
    w.on('error', onError);
    return w;
  });
}
