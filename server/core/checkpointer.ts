/**
 * Writes checkpoints of the global state (store/checkpoint.ts holds the format): it assembles the
 * metadata a restart needs (the run's identity, the norm guard's statistics and DP ledger, the update ids folded
 * into the last versions, the last step's summary) and runs every checkpoint-directory job — a
 * write, a prune — one at a time, so a prune never races a write.
 */
import type { BufferedUpdate, GlobalState, StepSummary } from '../aggregation/fedbuff';
import type { ResolvedConfig } from '../config';
import { CHECKPOINT_FORMAT, type Checkpoint, type CheckpointMeta, type CheckpointStore } from '../store/checkpoint';
import type { ServerEvents } from './events';
import type { GuardCheckpointFields } from './guard';
import type { RoundPlan } from './plan-store';
import type { RunInfo } from './run';

/** What a checkpoint records besides the state and the buffer. */
export interface CheckpointContext {
  guard: GuardCheckpointFields;
  folded: CheckpointMeta['folded'];
  lastStep: StepSummary | null;
  /** The live round plan (recorded for the operator's information). */
  plan: Readonly<RoundPlan>;
}

/** The metadata of a checkpoint of `state` (also what cluster/aggregator.ts writes to Redis). */
export function checkpointMeta(run: RunInfo, config: ResolvedConfig, state: GlobalState, ctx: CheckpointContext): CheckpointMeta {
  return {
    format: CHECKPOINT_FORMAT,
    runId: run.runId,
    version: state.version,
    method: run.method,
    methodConfig: run.methodConfig,
    momentumPairs: run.momentumPairs,
    serverOptimizer: config.aggregation.serverOptimizer,
    optimizerStep: state.optimizer.step,
    onlineNames: [...state.online.keys()],
    targetNames: [...state.target.keys()],
    recentNorms: [],
    normStats: ctx.guard.normStats,
    privacy: ctx.guard.privacy,
    folded: ctx.folded,
    lastStep: ctx.lastStep,
    buffer: [],
    createdAt: Date.now(),
    encoderNames: run.encoderNames,
    serverMomentum: run.serverMomentum,
    extra: { config: { aggregation: config.aggregation, localSteps: ctx.plan.localSteps, batchSize: ctx.plan.batchSize }, dp: ctx.guard.dp },
  };
}

/** Encodes a checkpoint without a buffer elsewhere (the fold worker, fold-thread.ts). */
export type CheckpointEncoder = (c: Checkpoint) => Promise<Uint8Array>;

export class Checkpointer {
  private chain: Promise<unknown> = Promise.resolve();

  /**
   * `offThread`, when given, encodes the checkpoints that carry no buffer (every step's): encoding
   * a whole state and its CRC-32 took the event loop tens of ms per version. The encoding starts
   * when write() is called, before earlier jobs end; the write itself stays in order. Those with a
   * buffer (shutdown, admin) are encoded here.
   */
  constructor(
    private readonly store: CheckpointStore,
    private readonly run: RunInfo,
    private readonly config: ResolvedConfig,
    private readonly events: ServerEvents,
    private readonly offThread?: CheckpointEncoder,
  ) {}

  /** Writes the checkpoint of `state` with `buffer` (snapshotted now); resolves once it is durable. */
  write(state: GlobalState, buffer: readonly BufferedUpdate[], ctx: CheckpointContext): Promise<void> {
    const meta = checkpointMeta(this.run, this.config, state, ctx);
    const snapshot = [...buffer];
    const c = { meta, state, buffer: snapshot };
    const encoded = snapshot.length === 0 && this.offThread ? this.offThread(c) : null;
    encoded?.catch(() => {}); // awaited in the job below; not an unhandled rejection meanwhile
    return this.serially(async () => {
      const t0 = performance.now();
      const bytes = encoded ? await this.store.writeEncoded(meta.version, await encoded) : await this.store.write(c);
      this.events.emit('checkpoint:written', { version: state.version, bytes, ms: performance.now() - t0, buffered: snapshot.length });
    });
  }

  /** Deletes all but the newest checkpoints, after the writes queued before it. */
  prune(): Promise<void> {
    return this.serially(() => this.store.prune());
  }

  private serially<T>(job: () => Promise<T>): Promise<T> {
    const p = this.chain.then(job, job);
    this.chain = p.catch(() => {});
    return p;
  }
}
