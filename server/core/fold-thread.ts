/**
 * Runs server steps (the pure fedbuffStep) in a worker thread (fold-worker.ts), so the event loop
 * keeps accepting, persisting and acknowledging updates while a full buffer is folded. One step at
 * a time (the fold scheduler guarantees it). The caller keeps the state and the updates (a failed
 * or crashed step leaves the buffer as it was): the updates' kept values are copied into a reused
 * shared arena, the state crosses as shared memory (the worker's replies are), so a step's
 * messages copy no more than the updates' values, into memory already mapped.
 *
 * The worker is started on the first step and again after it died; an idle worker does not keep
 * the process alive. If it dies mid-step, that step fails (the caller keeps the buffer and retries).
 */
import { Worker } from 'node:worker_threads';
import type { BufferedUpdate, FedBuffConfig, GlobalState, StepSummary } from '../aggregation/fedbuff';
import type { MomentumPair } from '../../shared/ssl/method';
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';
import { arenaBytes, packInto, packMap, packState, SharedArena, unpackMap, unpackState, type FoldReply, type FoldRequest } from './fold-transfer';

const BOOT = new URL('./fold-worker-boot.mjs', import.meta.url);
const ENTRY = new URL('./fold-worker.ts', import.meta.url).href;

export interface FoldInputs {
  state: GlobalState;
  updates: readonly BufferedUpdate[];
  specs: readonly WeightSpec[];
  pairs: readonly MomentumPair[];
  config: FedBuffConfig;
  now: number;
  context: { center: WeightMap | null; randSeed: number; quarantined: string[]; denominator?: number };
}

export interface FoldResult {
  state: GlobalState;
  summary: StepSummary;
  center: WeightMap | null;
}

export class FoldThread {
  private worker: Promise<Worker> | null = null;
  private pending: { id: number; resolve: (r: FoldResult) => void; reject: (e: Error) => void } | null = null;
  private nextId = 1;
  private closed = false;
  /** Where the updates of a step are copied for the worker (reused: valid until the next step). */
  private readonly arena = new SharedArena();

  /** One server step in the worker; rejects when it fails there or the worker dies. */
  async step(x: FoldInputs): Promise<FoldResult> {
    if (this.closed) throw new Error('the fold thread is closed');
    if (this.pending) throw new Error('a fold is already running');
    const worker = await this.start();
    this.arena.reset(x.updates.reduce((n, u) => n + arenaBytes(u.delta), 0));
    const request: FoldRequest = {
      id: this.nextId++,
      state: packState(x.state),
      updates: x.updates.map((u) => ({ ...u, delta: packInto(this.arena, u.delta) })),
      specs: [...x.specs],
      pairs: [...x.pairs],
      config: x.config,
      now: x.now,
      context: { ...x.context, center: x.context.center ? packMap(x.context.center) : null },
    };
    return new Promise<FoldResult>((resolve, reject) => {
      this.pending = { id: request.id, resolve, reject };
      worker.ref();
      worker.postMessage(request);
    });
  }

  /** Starts the worker ahead of the first step (loading it takes seconds on a busy machine). */
  warm(): void {
    if (!this.closed) this.start().catch(() => {});
  }

  /** Stops the worker (a step in flight fails). */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (w) await (await w.catch(() => null))?.terminate();
  }

  private start(): Promise<Worker> {
    if (this.worker) return this.worker;
    const started = new Promise<Worker>((resolve, reject) => {
      const w = new Worker(BOOT, { workerData: { entry: ENTRY } });
      w.once('error', reject);
      w.once('message', (m) => {
        if (m !== 'ready') return reject(new Error(`fold worker: unexpected '${String(m)}'`));
        w.on('message', (r: FoldReply) => this.settle(r));
        w.unref();
        resolve(w);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (this.worker === started) this.worker = null;
        this.fail(new Error(`fold worker exited (code ${code})`));
      });
    });
    this.worker = started;
    started.catch(() => {
      if (this.worker === started) this.worker = null;
    });
    return started;
  }

  private settle(r: FoldReply): void {
    const p = this.pending;
    if (!p || p.id !== r.id) return;
    this.pending = null;
    void this.worker?.then((w) => w.unref(), () => {});
    if (!r.ok) return p.reject(new Error(r.error));
    p.resolve({ state: unpackState(r.state), summary: r.summary, center: r.center ? unpackMap(r.center) : null });
  }

  private fail(e: Error): void {
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
  }
}
