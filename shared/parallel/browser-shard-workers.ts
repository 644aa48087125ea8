/**
 * The extension's data-parallel training step (encoder-shards.ts) on Web Workers: the training
 * worker starts `threads` encoder shard workers (browser-shard-worker.ts, shipped as
 * shard-protocol.ts's SHARD_WORKER_FILE) and routes its encoder passes through them. They share
 * the batch, the weights and the results with the training worker through SharedArrayBuffers, so
 * the page must be cross-origin isolated (manifest.json's COOP/COEP); without that, or when the
 * workers do not start in time, the caller falls back and this says why.
 */
import { createEncoderShards, type EncoderShards, type ShardWorker } from './encoder-shards';
import { shardEncoders } from './patch-encoder-data-parallel';
import { threadsUnavailable, type WasmThreads } from '../backends/wasm/simd/browser-pool';

/** Each worker compiles tfjs's and Glimpse's wasm first: seconds on a busy machine. */
const READY_MS = 30_000;

/** Starts `count` shard workers from `url`; rejects (ending them) when one fails or any is not ready within `readyMs`. */
export async function startBrowserShardWorkers(url: string, count: number, readyMs = READY_MS): Promise<ShardWorker[]> {
  const workers: Worker[] = [];
  try {
    await Promise.all(Array.from({ length: count }, (_, i) => new Promise<void>((resolve, reject) => {
      const w = new Worker(url, { type: 'module', name: `glimpse-shard-${i}` });
      workers.push(w);
      const timer = setTimeout(() => reject(new Error(`shard worker ${i} was not ready within ${readyMs / 1000} s`)), readyMs);
      const settle = (e?: Error) => {
        clearTimeout(timer);
        if (e) reject(e);
        else resolve();
      };
      w.addEventListener('error', (e) => settle(new Error(e.message || `${url} failed to load`)), { once: true });
      w.addEventListener('message', (e: MessageEvent) => {
        if (e.data === 'ready') settle();
        else settle(new Error(`shard worker ${i}: ${String((e.data as { failed?: string })?.failed ?? e.data)}`));
      }, { once: true });
    })));
    return workers;
  } catch (e) {
    for (const w of workers) w.terminate();
    throw e;
  }
}

let running: { threads: number; shards: Promise<EncoderShards> } | null = null;

/** Encoder passes back on this thread (the shard workers, if any, stay for a later call). */
export function unshardBrowserEncoders(): void {
  if (running) shardEncoders(null);
}

/**
 * Runs this worker's encoder passes data-parallel on `threads` shard workers when this context
 * allows; otherwise (or when they fail to start) leaves them on this thread. Never throws: the
 * answer says what runs.
 */
export async function shardBrowserEncoders(url: string, threads: number, o: { readyMs?: number } = {}): Promise<WasmThreads> {
  const asked = Math.max(1, Math.floor(threads));
  if (asked === 1) {
    unshardBrowserEncoders();
    return { threads: 1, asked };
  }
  const cannot = threadsUnavailable();
  if (cannot) return { threads: 1, asked, why: cannot };
  try {
    if (running?.threads !== asked) {
      const old = running;
      running = { threads: asked, shards: startBrowserShardWorkers(url, asked, o.readyMs).then(createEncoderShards) };
      void old?.shards.then((s) => s.dispose(), () => {});
    }
    shardEncoders(await running.shards);
    return { threads: asked, asked, parallel: 'data' };
  } catch (e) {
    running = null;
    shardEncoders(null);
    return { threads: 1, asked, why: `the encoder shard workers did not start: ${(e as Error).message}` };
  }
}
