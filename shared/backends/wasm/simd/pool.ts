/**
 * A pool of threads running Glimpse's SIMD kernels on one shared WebAssembly.Memory: the calling
 * thread plus `threads − 1` workers (pool-worker.mjs), one kernel instance each. A job is
 * published through a small control block (generation, kernel, job address); every thread takes
 * work items from the job's atomic counter until none is left, so a thread slowed by other load
 * simply takes fewer. The caller blocks (Atomics.wait) until all have finished — allowed in Node
 * and in workers, not on a browser's main thread.
 *
 * Host-agnostic: `spawn` creates a worker for pool-worker.mjs (Node: worker_threads; browser: a
 * module Web Worker, which needs cross-origin isolation for SharedArrayBuffer).
 */
import { instantiateSimd, type SimdInstance, type SimdVariant } from './module';
import type { HeapAllocator, JobRunner, KernelName } from './simd-kernels';

/** What the pool needs of a worker (Node's Worker and the browser's both fit). */
export interface PoolWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** Creates a worker running pool-worker.mjs; `onMessage` receives its 'ready' / 'stopped'. */
export type SpawnWorker = (onMessage: (message: unknown) => void, onError: (error: unknown) => void) => PoolWorker;

const GEN = 0;
const KERNEL = 1;
const JOB = 2;
const DONE = 3;
const STOP = 4;
const ERRORS = 5;
/** Kernel indices, in pool-worker.mjs's order. */
const KERNELS: readonly KernelName[] = ['igemm_run', 'dw_run', 'layer_norm_run', 'layer_norm_grad_run'];

const PAGE = 65536;
/** A kernel job takes milliseconds; a pool worker silent this long is gone. */
const STALL_MS = 60_000;
const WAIT_SLICE_MS = 1_000;
/** Starting a worker and instantiating the kernels takes well under a second. */
const READY_MS = 15_000;
/** Where the bump allocator starts (the first page stays unused: address 0 is "no tensor"). */
const HEAP_BASE = PAGE;

export interface SimdPool {
  readonly threads: number;
  readonly instance: SimdInstance;
  /** Runs a job on every thread of the pool and returns when all are done. */
  readonly run: JobRunner;
  /** A bump allocator over the shared memory; `reset` frees everything at once. */
  readonly heap: HeapAllocator & { reset(): void; ensure(bytes: number): void };
  dispose(): Promise<void>;
}

/**
 * @param module a compiled `threads` variant (see simdFileName).
 * @param threads total threads including the caller's (≥ 1).
 * @param stallMs how long `run` waits for silent workers before it throws.
 * @param readyMs how long the workers may take to start before this rejects (and ends them).
 */
export async function createSimdPool(
  module: WebAssembly.Module,
  variant: SimdVariant,
  threads: number,
  spawn: SpawnWorker,
  { initialBytes = 64 << 20, stallMs = STALL_MS, readyMs = READY_MS }: { initialBytes?: number; stallMs?: number; readyMs?: number } = {},
): Promise<SimdPool> {
  if (!variant.threads) throw new Error('glimpse simd: the pool needs a threads variant');
  if (!(Number.isInteger(threads) && threads >= 1)) throw new Error(`glimpse simd: threads must be a positive integer, got ${threads}`);
  const memory = new WebAssembly.Memory({ initial: Math.ceil(initialBytes / PAGE), maximum: 65536, shared: true });
  const instance = await instantiateSimd(module, memory, variant);
  const control = new SharedArrayBuffer(64);
  const ctrl = new Int32Array(control);
  const workers: PoolWorker[] = [];
  const stopped: Array<Promise<void>> = [];
  let readyTimer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.all(Array.from({ length: threads - 1 }, (_, i) => new Promise<void>((ready, fail) => {
        let stop: () => void = () => {};
        stopped.push(new Promise<void>((r) => { stop = r; }));
        const w = spawn((m) => (m === 'ready' ? ready() : m === 'stopped' ? stop() : undefined), (e) => { fail(e); stop(); });
        workers.push(w);
        w.postMessage({ module, memory, control, threadIndex: i + 1 });
      }))),
      // Bounded: a worker script that never loads (blocked, missing) must not hang the caller.
      new Promise<never>((_, fail) => (readyTimer = setTimeout(() => fail(new Error(`glimpse simd: ${threads - 1} pool worker(s) not ready within ${readyMs / 1000} s`)), readyMs))),
    ]);
  } catch (e) {
    for (const w of workers) await w.terminate();
    throw e;
  } finally {
    clearTimeout(readyTimer);
  }

  let top = HEAP_BASE;
  const heap = {
    malloc(bytes: number): number {
      const at = top;
      top = (top + bytes + 63) & ~63;
      heap.ensure(0);
      return at;
    },
    free(): void {},
    reset(): void {
      top = HEAP_BASE;
    },
    /** Grows the memory so that `bytes` more fit above the current top. */
    ensure(bytes: number): void {
      const need = top + bytes - memory.buffer.byteLength;
      if (need > 0) memory.grow(Math.ceil(need / PAGE));
    },
  };

  const run: JobRunner = (kernel, job) => {
    if (workers.length > 0) {
      Atomics.store(ctrl, DONE, 0);
      Atomics.store(ctrl, KERNEL, KERNELS.indexOf(kernel));
      Atomics.store(ctrl, JOB, job);
      Atomics.add(ctrl, GEN, 1);
      Atomics.notify(ctrl, GEN);
    }
    instance.exports[kernel](job);
    // Bounded: a worker that died or missed the job must end in an error, not block this thread
    // (and with it every timer that could report the problem) forever.
    let waitedMs = 0;
    for (let d = Atomics.load(ctrl, DONE); d < workers.length; d = Atomics.load(ctrl, DONE)) {
      const slice = Math.min(WAIT_SLICE_MS, stallMs);
      if (Atomics.wait(ctrl, DONE, d, slice) === 'timed-out' && (waitedMs += slice) >= stallMs) {
        throw new Error(`glimpse simd: ${kernel}: ${workers.length - d} pool worker(s) did not finish within ${stallMs / 1000} s`);
      }
    }
    if (Atomics.load(ctrl, ERRORS) > 0) throw new Error(`glimpse simd: ${kernel} failed in a pool worker`);
  };

  return {
    threads,
    instance,
    run,
    heap,
    async dispose() {
      Atomics.store(ctrl, STOP, 1);
      Atomics.add(ctrl, GEN, 1);
      Atomics.notify(ctrl, GEN);
      await Promise.race([Promise.all(stopped), new Promise((r) => setTimeout(r, 2000))]);
      for (const w of workers) await w.terminate();
    },
  };
}
