/**
 * An encoder shard worker on Node's worker_threads (node-shard-workers.ts starts it): its own
 * tfjs wasm backend with Glimpse's single-thread SIMD kernels, serving the trainer's shards
 * (shard-service.ts).
 */
import { parentPort } from 'node:worker_threads';
import { initNodeBackend } from '../backends/node-backend';
import { serveShards } from './shard-service';

async function main(): Promise<void> {
  if (!parentPort) throw new Error('shard-worker.ts runs as a worker thread');
  const port = parentPort;
  await initNodeBackend('wasm');
  serveShards((handler) => port.on('message', handler), (e) => console.error('glimpse shard worker:', e));
  port.postMessage('ready');
}

void main();
