/**
 * The server steps in flight, in version order (the coordinator's step(), run by the fold
 * scheduler): each takes the whole buffer and posts its fold to the worker onto the state the fold
 * before it produces — which the worker kept (fold-thread.ts FoldTicket) — so the worker goes from
 * one fold to the next without waiting for the event loop to hand a state back. The commits of
 * their results (checkpoint, rows, swap, announcement: the coordinator's `commit`) run strictly
 * one after another, each only after the one before it succeeded.
 *
 * At most MAX_UNCOMMITTED steps are folding, queued or being committed at once. If one fails — its
 * fold, or its commit — it and every step after it go back to the front of the buffer in version
 * order, nothing of them is committed, and the next step resyncs the worker: it sends the last
 * committed state instead of building on what the worker kept.
 */
import type { BufferedUpdate, GlobalState } from '../aggregation/fedbuff';
import type { FoldInputs, FoldResult, FoldThread, FoldTicket } from './fold-thread';

/** Steps posted and not yet committed or put back: one committing, one folding, one queued. */
export const MAX_UNCOMMITTED = 3;

export interface StepChainDeps {
  /** The coordinator's buffer, shared: a step takes all of it; a failed one goes back to its front. */
  buffer: BufferedUpdate[];
  folds: Pick<FoldThread, 'post'>;
  /** The last committed state. */
  committed(): GlobalState;
  /** A fold's other inputs for a step from `version` (the centre is used only when the state is sent). */
  inputs(version: number): Omit<FoldInputs, 'state' | 'updates'>;
  /** Commits a folded step; false if that failed (nothing of it committed). Called in version order. */
  commit(taken: BufferedUpdate[], result: FoldResult): Promise<boolean>;
  /**
   * Buffer fill from which a step is posted while the fold before it is still running (queued in
   * the worker behind it). Below it the step waits for that fold and then takes the whole buffer:
   * fewer, larger steps cost less (each has its dense passes over the model and its checkpoint).
   */
  queueAt: number;
  /** A fold failed (reported; its updates are put back). */
  failed(e: Error, updates: number): void;
  /** A step failed: try again later (fold-scheduler.ts retry). */
  retry(): void;
}

export class StepChain {
  /** The newest fold posted in an unbroken chain: the worker keeps its state, the next fold builds on it. */
  private kept: FoldTicket | null = null;
  /** Settles once every step posted so far is committed (true), or put back after a failure (false). */
  private tail: Promise<boolean> = Promise.resolve(true);
  private readonly uncommitted = new Set<Promise<boolean>>();
  /** Where a failed step's updates go: behind those of the failed steps before it. */
  private restoreAt = 0;

  constructor(private readonly d: StepChainDeps) {}

  /** True while a step is folding, queued or being committed. */
  get busy(): boolean {
    return this.uncommitted.size > 0;
  }

  /** Settles once the steps in flight now are committed or put back; null when there are none. */
  inFlight(): Promise<boolean> | null {
    return this.uncommitted.size ? this.tail : null;
  }

  /** Posts one step over the whole buffer; resolves once it is posted (its commit follows in the chain). */
  async step(): Promise<boolean> {
    while (this.uncommitted.size >= MAX_UNCOMMITTED) await Promise.race(this.uncommitted);
    if (this.kept && this.d.buffer.length < this.d.queueAt) await this.kept.result.catch(() => {});
    if (!this.kept) {
      // A fresh chain (start, or after a failure: the rest of the old one is put back first).
      await this.tail;
      this.tail = Promise.resolve(true);
    }
    const taken = this.d.buffer.splice(0, this.d.buffer.length);
    if (taken.length === 0) return true;
    this.restoreAt = 0;
    const base = this.kept ?? this.d.committed();
    const ticket = this.d.folds.post({ ...this.d.inputs(base.version), state: base, updates: taken });
    this.kept = ticket;
    const done = this.tail.then((ok) => (ok ? this.settle(taken, ticket) : this.putBack(taken)));
    this.tail = done;
    this.uncommitted.add(done);
    void done.then((ok) => {
      this.uncommitted.delete(done);
      if (!ok) this.d.retry();
    });
    return true;
  }

  /** The step's fold result, committed after the steps before it were. */
  private async settle(taken: BufferedUpdate[], ticket: FoldTicket): Promise<boolean> {
    let result: FoldResult;
    try {
      result = await ticket.result;
    } catch (e) {
      this.d.failed(e as Error, taken.length);
      return this.putBack(taken);
    }
    return (await this.d.commit(taken, result)) || this.putBack(taken);
  }

  /** A failed step's updates back in the buffer; the worker's kept state is not built on again. */
  private putBack(taken: BufferedUpdate[]): false {
    this.kept = null;
    this.d.buffer.splice(this.restoreAt, 0, ...taken);
    this.restoreAt += taken.length;
    return false;
  }
}
