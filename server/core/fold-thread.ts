/**
 * Runs server steps (the pure fedbuffStep) in a worker thread (fold-worker.ts), so the event loop
 * keeps accepting, persisting and acknowledging updates while a full buffer is folded. One step at
 * a time (the fold scheduler guarantees it). The caller keeps the state and the updates (a failed
 * or crashed step leaves the buffer as it was): the updates' kept values are copied into a reused
 * shared arena, the state crosses as shared memory (the worker's replies are), so a step's
 * messages copy no more than the updates' values, into memory already mapped.
 *
 * The worker also encodes step checkpoints (encodeCheckpoint): the event loop only writes them.
 *
 * The worker is started on the first step and again after it died; an idle worker does not keep
 * the process alive. If it dies mid-step, that step fails (the caller keeps the buffer and retries);
 * so does a checkpoint encoding in flight.
 */
import { Worker } from 'node:worker_threads';
import type { BufferedUpdate, FedBuffConfig, GlobalState, StepSummary } from '../aggregation/fedbuff';
import type { MomentumPair } from '../../shared/ssl/method';
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';
import type { Checkpoint } from '../store/checkpoint';
import { arenaBytes, packInto, packMap, packState, SharedArena, unpackMap, unpackState, type FoldReply, type FoldRequest, type WorkerReply, type WorkerRequest } from './fold-transfer';

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
  /** Requests sent and not answered yet, by id: at most one fold, and checkpoint encodings. */
  private readonly pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  private folding = false;
  /** The worker once it is ready (requests to it can be posted synchronously). */
  private running: Worker | null = null;
  private nextId = 1;
  private closed = false;
  /** Where the updates of a step are copied for the worker (reused: valid until the next step). */
  private readonly arena = new SharedArena();

  /** One server step in the worker; rejects when it fails there or the worker dies. */
  async step(x: FoldInputs): Promise<FoldResult> {
    if (this.closed) throw new Error('the fold thread is closed');
    if (this.folding) throw new Error('a fold is already running');
    this.folding = true;
    try {
      const worker = await this.start();
      return await this.foldIn(worker, x);
    } finally {
      this.folding = false;
    }
  }

  /**
   * Encodes a checkpoint without a buffer in the worker (see EncodeRequest). Posted at once when
   * the worker runs, so a fold requested after it starts after it (the worker takes messages in
   * order) and the bytes come back without waiting for that fold. The state is shared memory, read only.
   */
  encodeCheckpoint(c: Checkpoint): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('the fold thread is closed'));
    if (c.buffer.length) return Promise.reject(new Error('the fold worker encodes step checkpoints only (no buffer)'));
    const request: WorkerRequest = { kind: 'encode', id: this.nextId++, meta: c.meta, state: packState(c.state) };
    const reply = this.running ? this.request(this.running, request) : this.start().then((w) => this.request(w, request));
    return reply.then((r) => {
      if (!r.ok) throw new Error(r.error);
      if (!('encoded' in r)) throw new Error('fold worker: a fold reply to an encode request');
      return r.encoded;
    });
  }

  private async foldIn(worker: Worker, x: FoldInputs): Promise<FoldResult> {
    this.arena.reset(x.updates.reduce((n, u) => n + arenaBytes(u.delta), 0));
    const request: FoldRequest = {
      kind: 'fold',
      id: this.nextId++,
      state: packState(x.state),
      updates: x.updates.map((u) => ({ ...u, delta: packInto(this.arena, u.delta) })),
      specs: [...x.specs],
      pairs: [...x.pairs],
      config: x.config,
      now: x.now,
      context: { ...x.context, center: x.context.center ? packMap(x.context.center) : null },
    };
    const r = (await this.request(worker, request)) as FoldReply;
    if (!r.ok) throw new Error(r.error);
    return { state: unpackState(r.state), summary: r.summary, center: r.center ? unpackMap(r.center) : null };
  }

  /** Sends one request; the worker keeps the process alive while any is unanswered. */
  private request(worker: Worker, request: WorkerRequest): Promise<WorkerReply> {
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject });
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
    this.running = null;
    if (w) await (await w.catch(() => null))?.terminate();
  }

  private start(): Promise<Worker> {
    if (this.worker) return this.worker;
    const started = new Promise<Worker>((resolve, reject) => {
      const w = new Worker(BOOT, { workerData: { entry: ENTRY } });
      w.once('error', reject);
      w.once('message', (m) => {
        if (m !== 'ready') return reject(new Error(`fold worker: unexpected '${String(m)}'`));
        w.on('message', (r: WorkerReply) => this.settle(r));
        w.unref();
        this.running = w;
        resolve(w);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (this.worker === started) this.worker = null;
        if (this.running === w) this.running = null;
        this.fail(new Error(`fold worker exited (code ${code})`));
      });
    });
    this.worker = started;
    started.catch(() => {
      if (this.worker === started) this.worker = null;
    });
    return started;
  }

  private settle(r: WorkerReply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (this.pending.size === 0) void this.worker?.then((w) => w.unref(), () => {});
    p.resolve(r);
  }

  private fail(e: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(e);
  }
}
