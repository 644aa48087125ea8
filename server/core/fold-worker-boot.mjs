// Entry of the fold worker thread (fold-thread.ts): registers tsx's loader in this thread, then
// loads the TypeScript worker (workerData.entry). Node 20 applies neither the parent's nor the
// worker's own `--import tsx` to a worker's entry module, so a .ts file cannot be the entry itself.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
