/**
 * Backend selection in a browser page or worker: the first of `order` that initialises.
 * WebGPU and WebGL need a GPU (or SwiftShader); wasm runs everywhere with Glimpse's training
 * kernels; cpu is the slow last resort.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerTileGradient } from './tile-gradient';
import { activateBrowserWasm } from './browser-wasm';
import { bindBrowserSimdPool, type WasmParallel, type WasmThreads } from './wasm/simd/browser-pool';
import { shardBrowserEncoders, unshardBrowserEncoders } from '../parallel/browser-shard-workers';

export type BrowserBackend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BrowserBackendOptions {
  /**
   * 'last': a software-emulated GPU adapter (SwiftShader, llvmpipe, WARP) is tried only after
   * every other backend but cpu — it is several times slower than wasm on the same CPU.
   * 'allow' (default): it is tried where `order` puts it.
   */
  softwareGpu?: 'last' | 'allow';
  /**
   * URL prefix (trailing slash) serving Glimpse's SIMD kernels (dist/wasm/glimpse-simd*.wasm,
   * built by scripts/build-wasm.ts), e.g. the extension's `chrome.runtime.getURL('wasm/')`.
   * When set and the wasm backend is chosen, its conv and LayerNorm kernels run on them;
   * otherwise (or if loading fails) on the XNNPACK-based kernels.
   */
  simdDir?: string;
  /**
   * Threads the wasm backend's SIMD kernels may run on (default 1). More than one needs a
   * cross-origin-isolated context and the threads variant in `simdDir`; otherwise one, and
   * {@link wasmThreadsInUse} says why.
   */
  threads?: number;
  /**
   * How more than one thread is used (default 'data'):
   * - 'data': every encoder pass is split across `threads` shard workers, each with its own wasm
   *   backend (parallel/browser-shard-workers.ts; needs `shardWorkerUrl`);
   * - 'kernels': each conv and LayerNorm kernel is split across the SIMD kernel pool.
   * Where 'data' cannot start, the kernel pool is tried.
   */
  parallel?: WasmParallel;
  /** URL of the encoder shard worker's bundle (parallel/browser-shard-worker.ts). */
  shardWorkerUrl?: string;
}

let wasmThreads: WasmThreads | null = null;

/** The wasm kernels' threads after the last initBrowserBackend that chose wasm (null: not wasm). */
export function wasmThreadsInUse(): WasmThreads | null {
  return tf.getBackend() === 'wasm' ? wasmThreads : null;
}

/**
 * @param order backends to try, best first.
 * @param wasmDir URL prefix (trailing slash) of the tfjs-backend-wasm .wasm files, e.g. the
 *   extension's `chrome.runtime.getURL('wasm/')`; by default tfjs looks next to the script.
 * @returns the name of the active backend.
 */
export async function initBrowserBackend(
  order: BrowserBackend[] = ['webgpu', 'webgl', 'wasm', 'cpu'],
  wasmDir?: string,
  o: BrowserBackendOptions = {},
): Promise<string> {
  // Every backend trains with the fast Tile gradient (LayerNorm's gamma/beta tiling).
  registerTileGradient();
  let effective = [...order];
  if (o.softwareGpu === 'last') {
    const software: BrowserBackend[] = [];
    for (const name of order) if ((name === 'webgpu' || name === 'webgl') && (await isSoftwareGpu(name))) software.push(name);
    effective = rankSoftwareLast(order, software);
  }
  for (const name of effective) {
    if (!(await activate(name, wasmDir, o.simdDir))) continue;
    if (name === 'wasm') {
      wasmThreads = await bindWasmThreads(o.threads ?? 1, o);
    }
    return tf.getBackend();
  }
  throw new Error(`none of the backends ${order.join(', ')} could be initialised`);
}

/** Puts the wasm backend's step on `threads` threads, data-parallel first unless told otherwise. */
async function bindWasmThreads(threads: number, o: BrowserBackendOptions): Promise<WasmThreads> {
  let data: WasmThreads | null = null;
  if (threads > 1 && (o.parallel ?? 'data') === 'data' && o.shardWorkerUrl) {
    data = await shardBrowserEncoders(o.shardWorkerUrl, threads);
    if (data.threads > 1) return data;
    console.warn(`glimpse: ${data.why}; trying the kernel pool`);
  } else {
    unshardBrowserEncoders();
  }
  if (!o.simdDir) return { threads: 1, asked: threads, why: data?.why ?? 'no SIMD kernel folder given' };
  const pool = await bindBrowserSimdPool(tf.backend() as unknown as BackendWasm, o.simdDir, threads);
  return data && pool.threads === 1 && data.why !== pool.why ? { ...pool, why: `${data.why}; ${pool.why}` } : pool;
}

/** `order` with the `software` ones moved just before cpu (or to the end): they still beat plain JavaScript. */
export function rankSoftwareLast(order: readonly BrowserBackend[], software: readonly BrowserBackend[]): BrowserBackend[] {
  const rest = order.filter((n) => !software.includes(n));
  const soft = order.filter((n) => software.includes(n));
  const cpuAt = rest.indexOf('cpu');
  return cpuAt < 0 ? [...rest, ...soft] : [...rest.slice(0, cpuAt), ...soft, ...rest.slice(cpuAt)];
}

async function activate(name: BrowserBackend, wasmDir: string | undefined, simdDir: string | undefined): Promise<boolean> {
  try {
    if (name === 'wasm') {
      await activateBrowserWasm(wasmDir, simdDir);
      return true;
    }
    if (await tf.setBackend(name)) {
      await tf.ready();
      return true;
    }
  } catch {
    // fall through to the next backend
  }
  return false;
}

const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|microsoft basic render|\bwarp\b/i;

/** True when the GPU behind `name` is emulated on the CPU; false for a real GPU, or none (activation then fails anyway). */
export async function isSoftwareGpu(name: 'webgpu' | 'webgl'): Promise<boolean> {
  try {
    if (name === 'webgpu') {
      type Adapter = { isFallbackAdapter?: boolean; info?: Record<string, unknown>; requestAdapterInfo?: () => Promise<Record<string, unknown>> };
      const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<Adapter | null> } } | undefined)?.gpu;
      const adapter = await gpu?.requestAdapter();
      if (!adapter) return false;
      const info = adapter.info ?? (await adapter.requestAdapterInfo?.()) ?? {};
      if (adapter.isFallbackAdapter || info.isFallbackAdapter) return true;
      return SOFTWARE_RENDERER.test(['vendor', 'architecture', 'device', 'description'].map((k) => String(info[k] ?? '')).join(' '));
    }
    const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : null;
    const gl = canvas?.getContext('webgl2') as WebGL2RenderingContext | null | undefined;
    if (!gl) return false;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return SOFTWARE_RENDERER.test(renderer);
  } catch {
    return false;
  }
}
