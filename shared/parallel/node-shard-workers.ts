/**
 * Starts encoder shard workers as Node worker_threads (shard-worker.ts, through tsx like the rest
 * of Glimpse's Node code: shard-worker-boot.mjs registers it) and waits until each has its wasm
 * backend ready.
 */
import { Worker } from 'node:worker_threads';
import type { ShardWorker } from './encoder-shards';

const BOOT = new URL('./shard-worker-boot.mjs', import.meta.url);
const ENTRY = new URL('./shard-worker.ts', import.meta.url).href;

export async function startNodeShardWorkers(count: number): Promise<ShardWorker[]> {
  return Promise.all(Array.from({ length: count }, () => new Promise<ShardWorker>((resolve, reject) => {
    const w = new Worker(BOOT, { workerData: { entry: ENTRY } });
    w.once('error', reject);
    w.on('exit', (code) => process.stderr.write(`glimpse: encoder shard worker exited (code ${code})\n`));
    w.on('error', (e) => process.stderr.write(`glimpse: encoder shard worker failed: ${String(e)}\n`));
    w.once('message', (m) => {
      if (m !== 'ready') return reject(new Error(`shard worker: unexpected '${String(m)}'`));
      // An idle worker waits in its event loop; it must not keep the process alive.
      w.unref();
      resolve(w as unknown as ShardWorker);
    });
  })));
}
