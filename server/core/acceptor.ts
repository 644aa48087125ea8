/**
 * The accept path of the coordinator: a submission → intake.ts (ordered, pure checks) → group
 * commit of the update log (store/group-commit.ts + store/update-log.ts: durable, then the ack) →
 * the tail of the buffer. Owns what only this path touches: the intake stages, the group commit,
 * the acks still waiting for it (by id) and the shared memory uploads are decoded into.
 */
import type { SubmitAck } from '../../shared/protocol/messages';
import type { WeightMap } from '../../shared/weights/weight-map';
import type { BufferedUpdate } from '../aggregation/fedbuff';
import type { ResolvedConfig } from '../config';
import type { Db } from '../store/db';
import { failpoint } from '../store/failpoints';
import { GroupCommit } from '../store/group-commit';
import { recordRejection, type RejectionRow } from '../store/history';
import type { UpdateLog, UpdateToLog } from '../store/update-log';
import { DeltaMemory } from './delta-memory';
import type { ServerEvents } from './events';
import type { Guard } from './guard';
import { intakeStages, runIntake, type IntakeStage, type Submission } from './intake';
import type { RunInfo } from './run';

/** What the accept path reads from and hands to the coordinator. */
export interface AcceptorDeps {
  config: ResolvedConfig;
  db: Db;
  log: UpdateLog;
  guard: Guard;
  run: RunInfo;
  events: ServerEvents;
  /** The coordinator's buffer, shared (the step splices it in place): accepted updates join its tail. */
  buffer: BufferedUpdate[];
  version(): number;
  maxExamples(): number;
  closing(): boolean;
  /** Tells the fold scheduler the buffer grew. */
  poke(): void;
}

export class Acceptor {
  private readonly stages: IntakeStage[];
  private readonly commits: GroupCommit<UpdateToLog, SubmitAck, RejectionRow>;
  /** Acks of updates waiting in the group commit, by id: a resubmission meanwhile gets the same answer. */
  private readonly queuedIds = new Map<string, Promise<SubmitAck>>();
  /** Shared memory the intake decodes uploads into, reused after their step is committed. */
  private readonly memory = new DeltaMemory();

  constructor(private readonly d: AcceptorDeps) {
    this.stages = intakeStages({ rateLimit: d.config.rateLimit });
    this.commits = new GroupCommit((items, rows) => this.commitBatch(items, rows));
  }

  /** A folded and committed delta's memory decodes the next uploads (delta-memory.ts). */
  release(delta: WeightMap): void {
    this.memory.release(delta);
  }

  /** Resolves once every submission in the group commit is answered (shutdown). */
  drain(): Promise<void> {
    return this.commits.drain();
  }

  /**
   * Checks a delta (intake.ts) and durably accepts it: accepted deltas are committed in groups
   * and acknowledged only after the commit; rejections are answered at once and recorded with
   * the next commit.
   */
  submit(input: Omit<Submission, 'contributorId' | 'rateKey'>, contributorId: string, rateKey: string = contributorId): Promise<SubmitAck> {
    const a = this.d.config.aggregation;
    const version = this.d.version();
    const r = runIntake(this.stages, { ...input, contributorId, rateKey }, {
      version,
      specs: this.d.run.onlineSpecs,
      maxStaleness: a.maxStaleness,
      maxExamples: this.d.maxExamples(),
      maxBuffered: a.maxBuffered,
      waiting: this.d.buffer.length + this.commits.queued,
      closing: this.d.closing(),
      normGuard: a.normGuard,
      recentNorms: this.d.guard.referenceNorms(),
      seen: (id) => (this.queuedIds.has(id) ? 'queued' : this.d.log.has(id) ? 'stored' : null),
      alloc: this.memory.alloc,
    });
    if (r.ok) {
      this.d.guard.recordNorm(rateKey, r.value.guardNorm);
      const ack = this.commits.submit({ update: r.value.update, bytes: r.value.bytes });
      this.queuedIds.set(input.updateId, ack);
      return ack;
    }
    if ('duplicate' in r) {
      const queued = this.queuedIds.get(input.updateId);
      if (queued) return queued.then((ack): SubmitAck => (ack.ok ? { ...ack, status: 'duplicate' } : ack));
      return Promise.resolve({ ok: true, status: 'duplicate', updateId: input.updateId, version, bufferFill: this.d.buffer.length, bufferSize: a.bufferSize, clipped: false });
    }
    this.commits.record({ at: Date.now(), contributorId, updateId: input.updateId, baseVersion: input.baseVersion, serverVersion: version, code: r.code, reason: r.reason });
    this.d.events.emit('update:rejected', { updateId: input.updateId, contributorId, code: r.code, reason: r.reason });
    return Promise.resolve({ ok: false, code: r.code, reason: r.reason, version, ...(r.retryAfterMs === undefined ? {} : { retryAfterMs: r.retryAfterMs }) });
  }

  /** One group commit (store/group-commit.ts): the update log makes it durable, then the updates join the buffer. */
  private async commitBatch(batch: UpdateToLog[], rejections: RejectionRow[]): Promise<SubmitAck[]> {
    const durable = await this.d.log.appendBatch(batch, () => {
      for (const r of rejections) recordRejection(this.d.db, r);
    });
    for (const { update } of batch) this.queuedIds.delete(update.updateId);
    if (!durable.ok) {
      for (const { update } of batch) this.memory.release(update.delta);
      return batch.map(() => ({ ok: false, code: durable.code, reason: durable.reason, version: this.d.version() }));
    }
    failpoint('submit:after-persist');
    const acks = batch.map(({ update }): SubmitAck => {
      this.d.buffer.push(update);
      this.d.events.emit('update:accepted', {
        updateId: update.updateId, contributorId: update.contributorId, baseVersion: update.baseVersion, examples: update.examples,
        norm: update.norm, clipped: update.clipped, bufferFill: this.d.buffer.length,
      });
      return { ok: true, status: 'accepted', updateId: update.updateId, version: this.d.version(), bufferFill: this.d.buffer.length, bufferSize: this.d.config.aggregation.bufferSize, clipped: update.clipped };
    });
    // The step a full buffer starts runs on this event loop: start it on the next turn, after
    // these acks (durable already) have gone out, instead of holding them for a whole fold.
    setImmediate(() => this.d.poke());
    return acks;
  }
}
