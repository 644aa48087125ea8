/**
 * Browser host of the SIMD kernel pool (pool.ts): the pool's workers are module Web Workers
 * running pool-worker.mjs (shipped as {@link POOL_WORKER_FILE} next to the kernel binaries), the
 * kernels the `threads` variant on one shared WebAssembly.Memory. Shared memory needs a
 * cross-origin-isolated page (COOP/COEP; in the extension, manifest.json's keys); without it, or
 * when the workers do not start in time, training stays single-threaded and says why.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { hasRelaxedSimd, simdFileName, type SimdVariant } from './module';
import { createSimdPool, type SimdPool } from './pool';
import { createPooledKernels, withSingleThreadFallback } from './pooled-kernels';
import { setSimdKernels, simdKernelsFor, tfjsMemory } from './tfjs-binding';

/** The pool worker's file name in the extension's wasm/ folder (scripts/build-extension.ts). */
export const POOL_WORKER_FILE = 'glimpse-simd-pool-worker.js';

/**
 * How a wasm training step uses more than one thread: its encoder passes' batch split across
 * workers with their own wasm backends ('data', shared/parallel/), or each conv and LayerNorm
 * kernel split across the kernel pool ('kernels'). Node's contributors and the extension alike.
 */
export type WasmParallel = 'data' | 'kernels';

/** How many threads the wasm kernels run on, and why not more when fewer than asked. */
export interface WasmThreads {
  threads: number;
  asked: number;
  why?: string;
  /** How more than one thread is used: the encoder's batch split across workers, or each kernel (absent: the kernel pool). */
  parallel?: WasmParallel;
}

/** Why this context cannot run the pool, or null when it can. */
export function threadsUnavailable(g: { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown; Worker?: unknown } = globalThis): string | null {
  if (!g.crossOriginIsolated) return 'the page is not cross-origin isolated, so wasm memory cannot be shared';
  if (typeof g.SharedArrayBuffer !== 'function') return 'SharedArrayBuffer is missing';
  if (typeof g.Worker !== 'function') return 'this worker cannot start workers';
  return null;
}

/** A pool of `threads` threads (this worker and threads − 1 Web Workers) from `simdDir`. */
export async function createBrowserSimdPool(simdDir: string, threads: number, o: { readyMs?: number } = {}): Promise<SimdPool> {
  let why = 'no threads variant of the kernels is bundled';
  for (const relaxed of hasRelaxedSimd() ? [true, false] : [false]) {
    const variant: SimdVariant = { relaxed, threads: true };
    const response = await fetch(simdDir + simdFileName(variant)).catch(() => null);
    if (!response?.ok) continue;
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(await response.arrayBuffer());
    } catch (e) {
      why = `${simdFileName(variant)} does not compile here: ${(e as Error).message}`;
      continue;
    }
    return createSimdPool(module, variant, threads, (onMessage, onError) => {
      const w = new Worker(simdDir + POOL_WORKER_FILE, { type: 'module', name: 'glimpse-simd-pool' });
      w.addEventListener('message', (e) => onMessage(e.data));
      w.addEventListener('error', (e) => onError(new Error(e.message || `${POOL_WORKER_FILE} failed to load`)));
      return w;
    }, { readyMs: o.readyMs });
  }
  throw new Error(why);
}

let pool: { threads: number; pool: Promise<SimdPool> } | null = null;

/**
 * Runs the active wasm backend's SIMD kernels on `threads` threads when this context allows,
 * else leaves the single-thread binding in place. Never throws: the answer says what runs.
 */
export async function bindBrowserSimdPool(backend: BackendWasm, simdDir: string, threads: number, o: { readyMs?: number } = {}): Promise<WasmThreads> {
  const asked = Math.max(1, Math.floor(threads));
  if (asked === 1) return { threads: 1, asked };
  const single = simdKernelsFor(backend);
  if (!single) return { threads: 1, asked, why: "Glimpse's SIMD kernels are not loaded" };
  const cannot = threadsUnavailable();
  if (cannot) return { threads: 1, asked, why: cannot };
  try {
    if (pool?.threads !== asked) {
      const old = pool;
      pool = { threads: asked, pool: createBrowserSimdPool(simdDir, asked, o) };
      void old?.pool.then((p) => p.dispose(), () => {});
    }
    const entry = pool;
    const running = await entry.pool;
    const status: WasmThreads = { threads: asked, asked };
    // A pool worker that dies or stalls later: that call and every later one run on this thread.
    setSimdKernels(backend, withSingleThreadFallback(createPooledKernels(running, tfjsMemory(backend)), single, (e) => {
      status.threads = 1;
      status.why = `the kernel pool failed, back to one thread: ${e.message}`;
      console.warn(`glimpse: ${status.why}`);
      if (pool === entry) pool = null;
      void running.dispose();
    }));
    return status;
  } catch (e) {
    pool = null;
    setSimdKernels(backend, single);
    return { threads: 1, asked, why: `the kernel pool did not start: ${(e as Error).message}` };
  }
}

/** In words for the popup: "2 threads", or "1 thread (why not more)". */
export function describeThreads(t: WasmThreads): string {
  const n = `${t.threads} thread${t.threads === 1 ? '' : 's'}${t.parallel === 'data' ? ', data-parallel' : ''}`;
  return t.why ? `${n} (${t.asked} allowed; ${t.why})` : n;
}
