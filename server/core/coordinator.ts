/**
 * The coordinator: the thin loop that owns the global state of a run and connects the parts that
 * each own one piece of it. It knows nothing about sockets or HTTP.
 *
 *   submission → acceptor.ts: intake.ts (ordered, pure checks) → group commit of the update log
 *     (store/group-commit.ts + store/update-log.ts: durable, then the ack) → the buffer
 *     → fold-scheduler.ts (when) → step(): fedbuffStep (aggregation/fedbuff.ts, pure) in the
 *       fold worker thread (fold-thread.ts; intake and acks go on meanwhile)
 *     → finish(): checkpointer.ts (encoded by the fold worker, written here while the worker
 *       folds the next buffer; durable) → state swapped in → 'version:created' (broadcast)
 *
 * Other state and its owner: the plan — plan-store.ts; pulls and encoder downloads of kept
 * versions — version-reader.ts; the run's identity — run.ts; history rows — store/history.ts.
 *
 * Durability protocol (why an acknowledged update is never lost nor applied twice):
 *  1. accept: the update log makes the delta durable, then commits its row (status 'pending');
 *     only then is the ack sent. Submissions arriving together share one commit (group commit).
 *  2. fold: the new state is computed in fresh arrays; the checkpoint of version v+1 — recording
 *     the folded update ids — is written atomically; only then are the rows marked 'applied' and
 *     the state swapped in and announced. A crash before the checkpoint leaves the rows pending
 *     (they are folded again later, once); a crash after it but before the SQLite commit is
 *     finished at recovery from the ids in the checkpoint. The next buffer may fold from v+1
 *     while v+1's checkpoint is being written (pipelining: the worker is not idle during the
 *     disk syncs), but v+2 is written, swapped in and announced only after v+1 is; if v+1's
 *     write fails, v+2 is dropped as well and both buffers are folded again.
 *  3. recovery (open, recovery.ts): newest valid checkpoint → the update log reconciles with it
 *     and returns the pending updates, which become the buffer again (UpdateLog.recover). So a
 *     step's checkpoint carries no buffer (the fold runs in a worker while updates keep arriving:
 *     they are in the log); those written at shutdown and by the admin carry it.
 */
import type { EmaSchedule } from '../../shared/federation/ema';
import type { Plan, SubmitAck } from '../../shared/protocol/messages';
import type { BufferedUpdate, GlobalState, StepSummary } from '../aggregation/fedbuff';
import type { ResolvedConfig } from '../config';
import type { Db } from '../store/db';
import { failpoint } from '../store/failpoints';
import { recordStep } from '../store/history';
import type { UpdateLog } from '../store/update-log';
import type { WeightMap } from '../../shared/weights/weight-map';
import { Checkpointer, type CheckpointContext } from './checkpointer';
import type { ServerEvents } from './events';
import { FoldScheduler } from './fold-scheduler';
import { FoldThread } from './fold-thread';
import { Guard } from './guard';
import { Acceptor } from './acceptor';
import type { Submission } from './intake';
import { compressionPlan, contributorPlan, PlanStore, type PlanChange } from './plan-store';
import { openRun, type OpenedRun } from './recovery';
import { emaScheduleOf, maxMessageBytesOf, type RunInfo } from './run';
import { VersionReader, type PullForm, type Pulled } from './version-reader';

/** Update ids per version remembered in checkpoints for finishing interrupted commits. */
const FOLDED_MEMORY = 16;

export class Coordinator {
  private state: GlobalState;
  private buffer: BufferedUpdate[] = [];
  private folded: Array<{ version: number; ids: string[] }>;
  private lastStep: StepSummary | null;
  private closing = false;
  readonly db: Db;
  readonly run: RunInfo;
  /** Norm statistics, quarantine, accountability and the DP ledger (guard.ts). */
  readonly guard: Guard;
  private readonly log: UpdateLog;
  /** The accept path: intake, group commit, acks, the buffer's tail (acceptor.ts). */
  private readonly acceptor: Acceptor;
  private readonly scheduler: FoldScheduler;
  private readonly plans: PlanStore;
  private readonly versions: VersionReader;
  private readonly checkpoints: Checkpointer;
  private readonly folds = new FoldThread();
  /** The newest folded state while it is not committed yet: the next fold starts from it (see step). */
  private ahead: { state: GlobalState; center: WeightMap | null } | null = null;
  /** The last folded step's checkpoint write and commit (finish), with how many updates it folded. */
  private finishing: { done: Promise<boolean>; count: number } | null = null;

  private constructor(
    readonly config: ResolvedConfig,
    private readonly events: ServerEvents,
    opened: OpenedRun,
  ) {
    this.db = opened.db;
    this.run = opened.run;
    this.log = opened.log;
    this.state = opened.state;
    this.buffer = opened.buffer;
    this.guard = new Guard(this.db, config, opened);
    this.folded = opened.folded;
    this.lastStep = opened.lastStep;
    this.acceptor = new Acceptor({
      config, db: this.db, log: this.log, guard: this.guard, run: this.run, events, buffer: this.buffer,
      version: () => this.state.version, maxExamples: () => this.plans.plan.maxExamples, closing: () => this.closing, poke: () => this.scheduler.poke(),
    });
    const a = config.aggregation;
    this.scheduler = new FoldScheduler({
      bufferSize: a.bufferSize, flushAfterMs: a.flushAfterMs, fill: () => this.buffer.length, step: () => this.step(), inFlight: () => this.finishing?.done ?? null,
    });
    this.plans = new PlanStore(this.db, config);
    this.versions = new VersionReader(this.run, opened.checkpoints, () => this.state);
    this.checkpoints = new Checkpointer(opened.checkpoints, this.run, config, events, (c) => this.folds.encodeCheckpoint(c));
  }

  /** Opens (or creates) the run in `config.dataDir`, recovering from the newest valid checkpoint (recovery.ts). */
  static async open(config: ResolvedConfig, events: ServerEvents): Promise<Coordinator> {
    const opened = await openRun(config);
    try {
      const coord = new Coordinator(config, events, opened);
      if (opened.fresh) {
        await coord.writeCheckpoint(coord.state, []);
        config.log(`started run ${coord.run.runId} (${coord.run.method}) at version 0${config.seed === undefined ? '' : `, initial weights from seed ${config.seed}`}`);
      }
      coord.plans.restore();
      coord.folds.warm();
      coord.scheduler.poke();
      return coord;
    } catch (e) {
      opened.db.close();
      await opened.log.close();
      throw e;
    }
  }

  get version(): number {
    return this.state.version;
  }

  get bufferFill(): number {
    return this.buffer.length;
  }

  /** The current global state. Read-only by contract: the arrays are shared, never mutate them. */
  get globalState(): Readonly<GlobalState> {
    return this.state;
  }

  /** True while a server step is being computed or written. */
  get aggregating(): boolean {
    return this.scheduler.stepping || this.finishing !== null;
  }

  get lastAggregation(): StepSummary | null {
    return this.lastStep;
  }

  /** Epoch ms since when aggregation is paused (admin), or null while it runs. */
  get pausedAt(): number | null {
    return this.scheduler.pausedAt;
  }

  /**
   * Stops taking server steps: accepted deltas keep buffering (up to maxBuffered, then 'busy');
   * an explicit flush() still folds. Runtime only: a restarted server aggregates again.
   * Returns false when already paused.
   */
  pause(): boolean {
    return this.scheduler.pause();
  }

  /** Resumes server steps and folds a buffer that filled meanwhile. Returns false when not paused. */
  resume(): boolean {
    return this.scheduler.resume();
  }

  /** Resolves once no server step is running; returns the version then. */
  async settled(): Promise<number> {
    await this.scheduler.settled();
    return this.state.version;
  }

  /** Folds whatever is buffered now (admin "flush", flushAfterMs). Resolves with the new version. */
  async flush(): Promise<number> {
    await this.scheduler.flush();
    await this.scheduler.settled();
    return this.state.version;
  }

  /** Pending update ids in buffer order (admin/debugging). */
  bufferedIds(): string[] {
    return this.buffer.map((u) => u.updateId);
  }

  /**
   * Changes what contributors do from their next round (local steps, batch size, optimizer) and
   * announces it (`plan:update`). The plan store keeps the change for later starts.
   */
  updatePlan(change: PlanChange): Plan {
    this.plans.update(change);
    const plan = this.plan();
    this.events.emit('plan:changed', plan);
    return plan;
  }

  /** What contributors are told at hello and on plan changes (shared/protocol/messages.ts Plan). */
  plan(): Plan {
    return contributorPlan(this.run, this.config, this.plans.plan, {
      version: this.state.version,
      maxMessageBytes: this.maxMessageBytes(),
      compression: compressionPlan(this.config.upload, { downloads: ['float32', 'float16'], diffs: true }),
    });
  }

  /** Socket.IO's maxHttpBufferSize (run.ts). */
  maxMessageBytes(): number {
    return maxMessageBytesOf(this.config, this.run);
  }

  /** The global weights (online + target) of a version as GLWT bytes, in the form asked for (version-reader.ts). */
  pull(version: number | 'latest', form?: PullForm): Promise<Pulled> {
    return this.versions.pull(version, form);
  }

  /** The product encoder of a version (see model/encoder-export.ts), or null if not kept. */
  encoderWeights(version: number | 'latest'): ReturnType<VersionReader['encoder']> {
    return this.versions.encoder(version);
  }

  /** The target EMA schedule of this run (run.ts). */
  emaSchedule(): EmaSchedule {
    return emaScheduleOf(this.config, this.run);
  }

  /** Checks a delta and durably accepts it (acceptor.ts): acknowledged only after the commit. */
  submit(input: Omit<Submission, 'contributorId' | 'rateKey'>, contributorId: string, rateKey: string = contributorId): Promise<SubmitAck> {
    return this.acceptor.submit(input, contributorId, rateKey);
  }

  /**
   * One server step over the whole buffer (run by the fold scheduler): folds it in the worker,
   * then leaves its checkpoint write and commit (finish) running and returns, so the next buffer
   * folds meanwhile — from this step's state, not yet durable (`ahead`). Returns false if it
   * failed (its updates are back in the buffer).
   */
  private async step(): Promise<boolean> {
    const taken = this.buffer.splice(0, this.buffer.length);
    if (taken.length === 0) return true;
    const a = this.config.aggregation;
    const base = this.ahead ?? { state: this.state, center: undefined };
    const previous = this.finishing;
    const context = this.guard.stepInputs(base.state.version, base.center);
    let result: Awaited<ReturnType<FoldThread['step']>>;
    try {
      // In the fold worker: the event loop keeps accepting and acknowledging meanwhile.
      result = await this.folds.step({
        state: base.state, updates: taken, specs: this.run.onlineSpecs, pairs: this.run.momentumPairs, now: Date.now(), context,
        config: { stalenessExponent: a.stalenessExponent, serverOptimizer: a.serverOptimizer, ema: this.emaSchedule(), robust: a.robust, dp: a.dp },
      });
    } catch (e) {
      this.buffer.unshift(...taken);
      this.failed(e as Error, taken.length);
      return false;
    }
    // v+1 is written before v+2 on top of it; if it could not be, this fold built on nothing
    // durable: its updates go back too, behind the previous step's (which finish put back).
    if (previous && !(await previous.done)) {
      this.buffer.splice(previous.count, 0, ...taken);
      return false;
    }
    this.ahead = { state: result.state, center: result.center ?? context.center };
    const finishing = { done: this.finish(taken, result), count: taken.length };
    this.finishing = finishing;
    void finishing.done.then((ok) => {
      if (this.finishing === finishing) this.finishing = null;
      if (!ok) this.scheduler.retry();
    });
    return true;
  }

  /**
   * A folded step's checkpoint (durable), then the commit: rows applied, state swapped in,
   * version announced. Runs after the previous step's finish. Resolves false if it failed: its
   * updates are back at the front of the buffer and the next fold starts from the committed state.
   */
  private async finish(taken: BufferedUpdate[], { state, summary, center }: Awaited<ReturnType<FoldThread['step']>>): Promise<boolean> {
    try {
      const folded = [...this.folded, { version: state.version, ids: taken.map((u) => u.updateId) }].slice(-FOLDED_MEMORY);
      // Without the buffer: updates accepted meanwhile are pending in the update log, which
      // recovery folds again from (step 3 above); copying their deltas here made this write
      // grow with every update that arrived during the fold.
      await this.writeCheckpoint(state, [], { folded, lastStep: summary, dpSteps: 1 });
      failpoint('fold:after-checkpoint');
      recordStep(this.db, summary);
      this.state = state;
      if (this.ahead?.state === state) this.ahead = null;
      this.folded = folded;
      this.lastStep = summary;
      this.guard.committed(summary, center);
      // Folded and durable: nothing reads these deltas any more (the fold's reply holds copies
      // of whatever it kept from them), so their memory decodes the next uploads.
      for (const u of taken) this.acceptor.release(u.delta);
      this.events.emit('version:created', summary);
      this.config.log(
        `version ${state.version}: ${summary.updates.length} update(s) from ${summary.contributors} contributor(s), ` +
          `mean loss ${summary.meanLoss?.toFixed(4) ?? '–'}, |Δ̄| ${summary.aggregateNorm.toExponential(2)}`,
      );
      void this.checkpoints.prune().catch((e) => this.config.log(`checkpoint prune failed: ${(e as Error).message}`));
      void this.log.pruneFolded(state.version - this.config.keepCheckpoints).catch((e) => this.config.log(`delta file prune failed: ${(e as Error).message}`));
      return true;
    } catch (e) {
      this.ahead = null;
      this.buffer.unshift(...taken);
      this.failed(e as Error, taken.length);
      return false;
    }
  }

  private failed(e: Error, updates: number): void {
    this.events.emit('server:error', { where: 'fold', error: e });
    this.config.log(`server step failed, ${updates} update(s) stay buffered: ${e.message}`);
  }

  private writeCheckpoint(state: GlobalState, buffer: readonly BufferedUpdate[], o: { folded?: CheckpointContext['folded']; lastStep?: StepSummary | null; dpSteps?: number } = {}): Promise<void> {
    return this.checkpoints.write(state, buffer, {
      guard: this.guard.checkpointFields(o.dpSteps ?? 0),
      folded: o.folded ?? this.folded,
      lastStep: o.lastStep === undefined ? this.lastStep : o.lastStep,
      plan: this.plans.plan,
    });
  }

  /** Writes a checkpoint of the current state and buffer now (admin route, shutdown). */
  async checkpoint(): Promise<number> {
    await this.scheduler.settled();
    await this.writeCheckpoint(this.state, this.buffer);
    return this.state.version;
  }

  /** Stops accepting, waits for a running server step, writes a final checkpoint, closes SQLite. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.scheduler.stop();
    await this.acceptor.drain();
    await this.scheduler.settled();
    try {
      await this.writeCheckpoint(this.state, this.buffer);
    } finally {
      this.db.close();
      await this.log.close();
      await this.folds.close();
    }
  }
}
