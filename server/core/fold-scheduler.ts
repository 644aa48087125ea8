/**
 * The fold scheduler decides WHEN a server step runs; the step itself (fold the whole buffer with
 * the pure fedbuffStep, checkpoint, swap) is the coordinator's, passed in as `step`. One step runs
 * at a time. A step starts when:
 *   - the buffer holds K (bufferSize) updates — and again while it still does after a step;
 *   - a non-empty buffer has waited `flushAfterMs` without filling (if set);
 *   - the admin flushes (also while paused);
 *   - a failed step's retry timer fires.
 * Paused (admin), no step starts except an explicit flush; the pause counts as settled for
 * observers only once a step already running has finished, so the version they read stays.
 */
export interface FoldSchedulerOptions {
  /** K: a full buffer folds at once. */
  bufferSize: number;
  /** Fold a non-empty buffer that has not filled after this many ms (0 = never). */
  flushAfterMs: number;
  /** Updates in the buffer now. */
  fill(): number;
  /** One server step over the whole buffer; false when it failed (the buffer is kept). */
  step(): Promise<boolean>;
  /**
   * What a step that returned left running (its checkpoint write, overlapping the next fold), or
   * null: settled() and a pause wait for it too, so the version they see is final.
   */
  inFlight?(): Promise<unknown> | null;
  /** Delay before a failed step is tried again. Default 2000 ms. */
  retryMs?: number;
}

export class FoldScheduler {
  private running: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Set by pause(): no new server step starts. */
  private pauseRequested: number | null = null;
  /** Set once no step is in flight either: what observers see as "paused" (the version is final). */
  private pausedSince: number | null = null;

  constructor(private readonly o: FoldSchedulerOptions) {}

  /** True while a server step is being computed or written. */
  get stepping(): boolean {
    return this.running !== null;
  }

  /** Epoch ms since when aggregation is paused (admin), or null while it runs. */
  get pausedAt(): number | null {
    return this.pausedSince;
  }

  /** The buffer changed (updates accepted or restored): start a step or the flush timer if due. */
  poke(): void {
    if (this.stopped || this.pauseRequested !== null) return;
    const fill = this.o.fill();
    if (fill >= this.o.bufferSize) {
      if (!this.running) this.running = this.stepWhileFull().finally(() => (this.running = null));
    } else if (this.o.flushAfterMs > 0 && fill > 0 && !this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        void this.flush();
      }, this.o.flushAfterMs);
      this.flushTimer.unref();
    }
  }

  /** Folds whatever is buffered now, after a running step (admin "flush", flushAfterMs; also while paused). */
  async flush(): Promise<void> {
    if (this.running) await this.running;
    if (this.o.fill() > 0 && !this.stopped) {
      this.running = this.stepOnce().then(() => {}).finally(() => (this.running = null));
      await this.running;
    }
  }

  /**
   * Stops starting server steps: accepted deltas keep buffering; an explicit flush() still folds.
   * Returns false when already paused.
   */
  pause(): boolean {
    if (this.pauseRequested !== null) return false;
    const at = Date.now();
    this.pauseRequested = at;
    this.clearFlushTimer();
    const settle = () => {
      if (this.pauseRequested === at) this.pausedSince = at;
    };
    if (this.running || this.o.inFlight?.()) void this.settled().then(settle);
    else settle();
    return true;
  }

  /** Resumes server steps and folds a buffer that filled meanwhile. Returns false when not paused. */
  resume(): boolean {
    if (this.pauseRequested === null) return false;
    this.pauseRequested = null;
    this.pausedSince = null;
    this.poke();
    return true;
  }

  /** Resolves once no server step is running (a failed one included), nor what one left in flight. */
  async settled(): Promise<void> {
    if (this.running) await this.running.catch(() => {});
    await this.o.inFlight?.()?.catch(() => {});
  }

  /** Work a step left in flight failed (its updates are back in the buffer): try again after retryMs. */
  retry(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.poke();
    }, this.o.retryMs ?? 2000);
    this.retryTimer.unref();
  }

  /** No step starts from now on (shutdown); a running one finishes (see settled()). */
  stop(): void {
    this.stopped = true;
    this.clearFlushTimer();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private async stepWhileFull(): Promise<void> {
    while (!this.stopped && this.pauseRequested === null && this.o.fill() >= this.o.bufferSize) {
      if (!(await this.stepOnce())) return;
    }
  }

  private async stepOnce(): Promise<boolean> {
    this.clearFlushTimer();
    const ok = await this.o.step();
    if (!ok) this.retry();
    return ok;
  }

  private clearFlushTimer(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }
}
