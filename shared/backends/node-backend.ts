/**
 * Backend selection for Node (contributors, tests, benches): wasm with Glimpse's training
 * kernels (the SIMD conv and LayerNorm kernels when dist/wasm/ has them built, on one thread or a
 * worker pool), else tfjs's pure-JS cpu backend (correct, but it runs convolutions' gradients as
 * scalar JS loops: orders of magnitude slower to train a conv net; see `npm run bench:step`).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerGlimpseWasmKernels } from './wasm/register-all-kernels';
import { compileNodeSimd, createNodeSimdPool } from './wasm/simd/node-simd';
import type { SimdPool } from './wasm/simd/pool';
import type { WasmParallel } from './wasm/simd/browser-pool';
import { createPooledKernels } from './wasm/simd/pooled-kernels';
import type { SimdKernels } from './wasm/simd/simd-kernels';
import { bindSimd, setSimdKernels, tfjsMemory } from './wasm/simd/tfjs-binding';
import { createEncoderShards, type EncoderShards } from '../parallel/encoder-shards';
import { startNodeShardWorkers } from '../parallel/node-shard-workers';
import { shardEncoders } from '../parallel/patch-encoder-data-parallel';
import { silenceTfjsNodeBanner } from './quiet-tfjs';

/** Directory (with trailing slash) holding tfjs-backend-wasm's .wasm binaries. */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep;
}

let wasmPathsSet = false;
let warnedNoSimd = false;
/** Worker pools by thread count, kept for the process: switching back and forth is free. */
const pools = new Map<number, Promise<SimdPool | null>>();
/** The single-thread (zero-copy) binding of each backend instance. */
const singleThread = new WeakMap<BackendWasm, SimdKernels>();

/** Encoder shard workers by count, kept for the process. */
const shards = new Map<number, Promise<EncoderShards>>();

export type ParallelMode = WasmParallel;

export interface NodeBackendOptions {
  /** Cores one training step may use on wasm (default 1). */
  threads?: number;
  /**
   * How more than one thread is used (default 'data'):
   * - 'data': every encoder pass is split across `threads` worker threads, each with its own wasm
   *   backend, and their outputs and weight gradients are combined exactly (shared/parallel/);
   *   the rest of the step (augmentation, heads, loss, optimizer) stays on this thread;
   * - 'kernels': each conv and LayerNorm kernel is split across a worker pool that works on
   *   copies of its operands in shared memory; everything else stays on this thread.
   */
  parallel?: ParallelMode;
}

/**
 * Binds Glimpse's SIMD kernels to the active wasm backend: zero-copy on tfjs's own heap for one
 * thread, through a worker pool for more. Without built binaries it says so once and the
 * XNNPACK-based kernels stay in use.
 */
async function bindNodeSimd(threads: number, parallel: ParallelMode): Promise<void> {
  const backend = tf.backend() as unknown as BackendWasm;
  if (parallel === 'data' && threads > 1) {
    if (!shards.has(threads)) shards.set(threads, startNodeShardWorkers(threads).then(createEncoderShards));
    shardEncoders(await shards.get(threads)!);
    threads = 1;
  } else {
    shardEncoders(null);
  }
  if (threads > 1) {
    if (!pools.has(threads)) pools.set(threads, createNodeSimdPool(threads));
    const pool = await pools.get(threads)!;
    if (pool != null) return setSimdKernels(backend, createPooledKernels(pool, tfjsMemory(backend)));
  }
  const bound = singleThread.get(backend);
  if (bound) return setSimdKernels(backend, bound);
  const compiled = await compileNodeSimd(false);
  if (compiled == null) {
    if (!warnedNoSimd) process.stderr.write('glimpse: SIMD kernels not built (npm run build:wasm); training on XNNPACK-based kernels\n');
    warnedNoSimd = true;
    return;
  }
  singleThread.set(backend, await bindSimd(backend, compiled.module, compiled.variant));
}

/**
 * Registers Glimpse's kernels, then activates `preferred` ('wasm' by default), falling back to
 * 'cpu' if it fails to initialise. Returns the name of the active backend. Calling it again
 * re-binds the kernels (e.g. with another thread count).
 */
export async function initNodeBackend(preferred: 'wasm' | 'cpu' = 'wasm', o: NodeBackendOptions = {}): Promise<string> {
  const threads = o.threads ?? 1;
  if (!(Number.isInteger(threads) && threads >= 1)) throw new Error(`threads must be a positive integer, got ${threads}`);
  const parallel = o.parallel ?? 'data';
  silenceTfjsNodeBanner();
  registerGlimpseWasmKernels();
  if (!wasmPathsSet) {
    setWasmPaths(wasmBinaryDir());
    wasmPathsSet = true;
  }
  for (const name of preferred === 'wasm' ? ['wasm', 'cpu'] : ['cpu']) {
    let ok = false;
    try {
      ok = await tf.setBackend(name);
      if (ok) await tf.ready();
    } catch {
      ok = false; // try the next one
    }
    if (!ok) continue;
    // Not a reason to fall back to cpu: a failure here is a bug or a broken build to report.
    if (name === 'wasm') await bindNodeSimd(threads, parallel);
    return tf.getBackend();
  }
  throw new Error('no tfjs backend could be initialised');
}
