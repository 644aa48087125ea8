/**
 * The cluster's aggregator: while this node holds the lease (lease.ts) it reads the accepted
 * updates from the Redis stream after the head's cursor, folds every K of them with the same pure
 * FedBuff step as the single-process server (aggregation/fedbuff.ts), and commits the new
 * version — checkpoint bytes, cursor, fencing token — in one script (shared-state.ts COMMIT).
 *
 * Why no acknowledged update is lost or folded twice: the ingest nodes' append is durable before
 * the ack and happens once per id (dedupe marker and stream entry in one script); a version and
 * the stream position it has folded up to are committed together, atomically, and only by the
 * current fence holder; the stream is trimmed only up to a committed cursor. A new leader starts
 * from the head's state and cursor, so whatever an old leader folded but did not commit is folded
 * again exactly once, and whatever it committed is not read again.
 *
 * Pipelining (commit-queue.ts): while version v+1's COMMIT is in flight, the next updates are read
 * and folded into v+2, v+3… on top of it; those go out in one COMMIT once v+1 is written, with
 * v+3's checkpoint only (v+2 never has one), and are dropped unsent if v+1 was refused.
 */
import { encodeCheckpoint, decodeCheckpoint } from '../store/checkpoint';
import { fedbuffStep, type BufferedUpdate, type GlobalState, type StepSummary } from '../aggregation/fedbuff';
import { decodeDelta } from '../aggregation/validate';
import type { ResolvedConfig } from '../config';
import { checkpointMeta, type CheckpointContext } from '../core/checkpointer';
import { dpStatusOf, type GuardCheckpointFields } from '../core/guard';
import { mulberry32 } from '../../shared/data/rng';
import type { WeightMap } from '../../shared/weights/weight-map';
import { cryptoUniform, normalSampler } from '../aggregation/dp-fedavg';
import { normStatsOfCheckpoint, type NormStats } from '../aggregation/norm-stats';
import { charge, EMPTY_LEDGER, ledgerOf, type PrivacyLedger } from '../aggregation/rdp-accountant';
import type { ServerEvents } from '../core/events';
import type { RoundPlan } from '../core/plan-store';
import { emaScheduleOf, freshRun, runOfCheckpoint, type RunInfo } from '../core/run';
import { CommitQueue } from './commit-queue';
import type { SharedState, StreamEntry } from './shared-state';

/** Update ids per version remembered in checkpoints (as the coordinator does). */
const FOLDED_MEMORY = 16;
/** Stream entries read per XREAD, and how long one read waits for new entries. */
const READ_COUNT = 512;
const READ_BLOCK_MS = 250;

/** The metadata an ingest node stores with each stream entry (a BufferedUpdate without its delta). */
export type EntryMeta = Omit<BufferedUpdate, 'delta' | 'updateId'>;

export interface Leading {
  run: RunInfo;
  state: GlobalState;
  ctx: Omit<CheckpointContext, 'plan'>;
}

/** A folded version and what the next step on top of it needs. */
interface Folded {
  state: GlobalState;
  ctx: Leading['ctx'];
  /** Centered clipping's centre: the previous robust aggregate (memory only, like the single-process server's). */
  center: WeightMap | null;
}

/** A version folded by this leader: its step's summary and the stream id of its last update. */
type Step = Folded & { summary: StepSummary; cursor: string };

export class ClusterAggregator {
  private token: number | null = null;
  private readonly normal = normalSampler(cryptoUniform());
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly shared: SharedState,
    private readonly config: ResolvedConfig,
    private readonly events: ServerEvents,
    private readonly plan: () => Readonly<RoundPlan>,
    /** Called when a commit was refused because a newer leader holds the fence. */
    private readonly fenced: (token: number) => void,
  ) {}

  /** Starts folding under `token` (the lease was taken). */
  lead(token: number): void {
    this.token = token;
    this.loop = this.loop.then(() => this.run(token)).catch((e) => {
      this.config.log(`aggregator (token ${token}) stopped: ${(e as Error).message}`);
      this.events.emit('server:error', { where: 'fold', error: e as Error });
      if (this.token === token) this.fenced(token);
    });
  }

  /** Stops folding (the lease is gone); resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.token = null;
    await this.loop;
  }

  /** The head's state, or version 0 of a new run written under `token`. */
  async open(token: number): Promise<Leading | null> {
    for (;;) {
      const head = await this.shared.head();
      if (head) {
        const bytes = await this.shared.checkpoint(head.version);
        if (!bytes) throw new Error(`the checkpoint of the head version ${head.version} is missing from Redis`);
        const c = decodeCheckpoint(bytes);
        const { run, state } = runOfCheckpoint(this.config, c);
        return { run, state, ctx: { guard: this.guardFields(normStatsOfCheckpoint(c.meta), ledgerOf(c.meta.privacy)), folded: c.meta.folded, lastStep: c.meta.lastStep } };
      }
      const { run, state } = await freshRun(this.config);
      const ctx = { guard: this.guardFields([], null), folded: [], lastStep: null };
      const verdict = await this.commit(token, run, state, ctx, '0-0');
      if (verdict === -1) return null;
      if (verdict === 1) {
        this.config.log(`started run ${run.runId} (${run.method}) at version 0 in Redis`);
        return { run, state, ctx };
      }
      // -2: another leader created the run meanwhile; read it.
    }
  }

  /** Checkpoint fields of the guard: norm statistics carried along (each ingest node keeps its own), the DP ledger. */
  private guardFields(normStats: NormStats, privacy: PrivacyLedger | null): GuardCheckpointFields {
    return { normStats, privacy, dp: dpStatusOf(this.config.aggregation.dp, privacy ?? EMPTY_LEDGER) };
  }

  private commit(token: number, run: RunInfo, state: GlobalState, ctx: Leading['ctx'], cursor: string, base = state.version - 1): Promise<1 | -1 | -2> {
    const meta = checkpointMeta(run, this.config, state, { ...ctx, plan: this.plan() });
    return this.shared.commit(token, state.version, cursor, encodeCheckpoint({ meta, state, buffer: [] }), base);
  }

  private async run(token: number): Promise<void> {
    const opened = await this.open(token);
    if (!opened) return this.fenced(token);
    const { run } = opened;
    /** The newest folded version: written, or waiting in `commits`. */
    let ahead: Folded = { state: opened.state, ctx: opened.ctx, center: null };
    let written = ahead.state.version;
    // While a COMMIT is in flight the next updates are read and folded on top of it (as the single
    // node's checkpoint write overlaps its next fold, core/coordinator.ts); what was folded
    // meanwhile is published by the next COMMIT, which writes the newest checkpoint only.
    const commits = new CommitQueue<Step, StepSummary>(async (newest, earlier) => {
      const ok = await this.publish(token, run, newest, earlier, written);
      if (ok) written = newest.state.version;
      return ok;
    }, () => this.token === token, (s) => s.summary);
    this.config.log(`aggregating from version ${written}`);
    const conn = this.shared.duplicate();
    try {
      const head = await this.shared.head();
      let readFrom = head?.cursor ?? '0-0';
      const buffer: Array<BufferedUpdate & { streamId: string }> = [];
      let firstAt = 0;
      const a = this.config.aggregation;
      let nextRead: Promise<StreamEntry[]> | null = null;
      while (this.token === token && commits.healthy()) {
        const entries = await (nextRead ?? this.shared.read(conn, readFrom, READ_COUNT, READ_BLOCK_MS));
        if (entries.length) readFrom = entries[entries.length - 1].streamId;
        // The next read is in flight while these are decoded and folded: a Redis reply waits for the
        // AOF fsync of everything Redis did meanwhile (a COMMIT's checkpoint too), so that wait is
        // kept off the fold's path. (Settled by disconnect() at the end; not unhandled meanwhile.)
        nextRead = this.shared.read(conn, readFrom, READ_COUNT, READ_BLOCK_MS);
        nextRead.catch(() => {});
        for (const e of entries) {
          const u = this.toUpdate(e, run);
          if (!u) continue;
          if (buffer.length === 0) firstAt = Date.now();
          buffer.push(u);
        }
        const flushDue = a.flushAfterMs > 0 && buffer.length > 0 && Date.now() - firstAt >= a.flushAfterMs;
        while (this.token === token && commits.healthy() && (buffer.length >= a.bufferSize || (flushDue && buffer.length > 0))) {
          const taken = buffer.splice(0, a.bufferSize);
          const step: Step = { ...this.fold(run, ahead, taken), cursor: taken[taken.length - 1].streamId };
          commits.push(step);
          ahead = step;
          if (buffer.length) firstAt = Date.now();
        }
      }
    } finally {
      // Folded but not sent: the updates stay in the stream, after the committed cursor, for the next leader.
      await commits.close();
      conn.disconnect();
    }
  }

  /**
   * Commits `newest`, folded on the versions `earlier` folded on the head `base`, with its
   * checkpoint and cursor; announces each, or steps down when refused. True once written.
   */
  private async publish(token: number, run: RunInfo, newest: Step, earlier: StepSummary[], base: number): Promise<boolean> {
    const verdict = await this.commit(token, run, newest.state, newest.ctx, newest.cursor, base);
    if (verdict !== 1) {
      this.config.log(`version ${newest.state.version} not committed: ${verdict === -1 ? 'a newer aggregator holds the fence' : 'the head moved'}; stepping down`);
      this.fenced(token);
      return false;
    }
    for (const summary of [...earlier, newest.summary]) {
      this.events.emit('version:created', summary);
      this.config.log(`version ${summary.version}: ${summary.updates.length} update(s) from ${summary.contributors} contributor(s)`);
    }
    return true;
  }

  /**
   * One server step on top of `base` (committed or not): the same robust combine and DP as the
   * single-process server (core/guard.ts); bucketing seeded by the version, so a new leader
   * folding the same updates gets the same result.
   */
  private fold(run: RunInfo, base: Folded, taken: BufferedUpdate[]): Folded & { summary: StepSummary } {
    const a = this.config.aggregation;
    const { state, summary, center } = fedbuffStep(base.state, taken, run.onlineSpecs, run.momentumPairs, {
      stalenessExponent: a.stalenessExponent, serverOptimizer: a.serverOptimizer, ema: emaScheduleOf(this.config, run), robust: a.robust, dp: a.dp,
    }, Date.now(), { center: base.center, rand: mulberry32(0x9e3779b9 ^ base.state.version), normal: this.normal, denominator: a.bufferSize });
    const folded = [...base.ctx.folded, { version: state.version, ids: taken.map((u) => u.updateId) }].slice(-FOLDED_MEMORY);
    const privacy = a.dp ? charge(base.ctx.guard.privacy ?? EMPTY_LEDGER, a.dp.noiseMultiplier) : base.ctx.guard.privacy;
    return { state, summary, center: center ?? base.center, ctx: { guard: this.guardFields(base.ctx.guard.normStats, privacy), folded, lastStep: summary } };
  }

  /** A stream entry as a buffered update; an entry that does not decode (never expected: ingest validated it) is skipped. */
  private toUpdate(e: StreamEntry, run: RunInfo): (BufferedUpdate & { streamId: string }) | null {
    try {
      const meta = JSON.parse(e.meta) as EntryMeta;
      const d = decodeDelta(new Uint8Array(e.delta.buffer, e.delta.byteOffset, e.delta.byteLength), run.onlineSpecs);
      if (!d.ok) throw new Error(d.reason);
      return { ...meta, updateId: e.updateId, delta: d.value, streamId: e.streamId };
    } catch (err) {
      this.config.log(`stream entry ${e.streamId} (update ${e.updateId}) skipped: ${(err as Error).message}`);
      return null;
    }
  }
}
