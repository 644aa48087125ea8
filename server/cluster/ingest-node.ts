/**
 * What every cluster node does for the contributors connected to it (the federation endpoint,
 * socket/federation.ts, talks to this instead of a Coordinator): hello with the shared plan,
 * weight pulls served from the version's checkpoint in Redis (encoded once per version and node),
 * and submissions checked and durably accepted into the shared stream:
 *
 *   gate (Redis: dedupe, shared rate-limit bucket, backlog) → intake.ts stages (staleness,
 *   examples, backlog, decode, finite, norm guard — the single-process server's own checks)
 *   → append (Redis: dedupe marker + stream entry in one script, durable) → ack
 *
 * The norm guard's per-contributor statistics are per node (each node sees a share of the same
 * population, so the median over its contributors estimates the same thing; one contributor still
 * counts once) and memory only: a restarted node waits for minHistory contributors again. Rejections are recorded in the node's own
 * SQLite history, as are its sessions.
 */
import type { Plan, RejectCode, SubmitAck } from '../../shared/protocol/messages';
import { encodeWeights } from '../../shared/weights/codec';
import type { WeightMap } from '../../shared/weights/weight-map';
import type { ResolvedConfig } from '../config';
import type { ServerEvents } from '../core/events';
import { intakeStages, runIntake, type Submission } from '../core/intake';
import { compressionPlan, contributorPlan, PlanChange, PlanStore } from '../core/plan-store';
import { resolveBurst } from '../core/rate-limit';
import { runOfCheckpoint, maxMessageBytesOf, type RunInfo } from '../core/run';
import type { Pulled } from '../core/version-reader';
import { decodeCheckpoint } from '../store/checkpoint';
import type { Db } from '../store/db';
import { recordRejection } from '../store/history';
import type { EntryMeta } from './aggregator';
import type { ClusterEvent, SharedState } from './shared-state';
import { DEFAULT_NORM_STATS_LIMITS, normKey, recordNorm, referenceNorms, type NormStats } from '../aggregation/norm-stats';

/** Versions whose pull payload a node keeps encoded. */
const PULL_CACHE = 3;

export class IngestNode {
  private current: number;
  private closing = false;
  private readonly stages = intakeStages({ rateLimit: null });
  /** The norm guard's per-contributor statistics (aggregation/norm-stats.ts), this node's share of the traffic. */
  private normStats: NormStats = [];
  /** Submissions in flight on this node, by id: a resubmission meanwhile gets the same answer. */
  private readonly inFlight = new Map<string, Promise<SubmitAck>>();
  private readonly pulls = new Map<number, Promise<Uint8Array | null>>();

  private constructor(
    readonly config: ResolvedConfig,
    readonly db: Db,
    readonly run: RunInfo,
    version: number,
    private readonly shared: SharedState,
    private readonly events: ServerEvents,
    private readonly plans: PlanStore,
  ) {
    this.current = version;
  }

  /** Waits (up to `waitMs`) until the run exists in Redis — an aggregator creates it — and joins it. */
  static async open(config: ResolvedConfig, db: Db, shared: SharedState, events: ServerEvents, plans: PlanStore, waitMs: number): Promise<IngestNode> {
    const until = Date.now() + waitMs;
    for (;;) {
      const head = await shared.head();
      const bytes = head && (await shared.checkpoint(head.version));
      if (head && bytes) {
        const { run } = runOfCheckpoint(config, decodeCheckpoint(bytes));
        const change = PlanChange.safeParse(await shared.planChange());
        if (change.success && Object.keys(change.data).length) plans.update(change.data);
        return new IngestNode(config, db, run, head.version, shared, events, plans);
      }
      if (Date.now() > until) throw new Error(`no run in Redis after ${waitMs} ms: start a node that aggregates (--role aggregator or both)`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  get version(): number {
    return this.current;
  }

  /** A cluster event (shared-state.ts): a new version, a plan change. */
  onEvent(e: ClusterEvent): void {
    if (e.kind === 'version' && e.version > this.current) this.current = e.version;
    if (e.kind === 'plan') {
      const p = PlanChange.safeParse(e.change);
      if (p.success) this.plans.update(p.data);
    }
  }

  /** Reads the head version again (a submission based on a version this node has not heard of yet). */
  async refresh(): Promise<void> {
    const head = await this.shared.head();
    if (head && head.version > this.current) this.current = head.version;
  }

  /** Stores the admin's plan change in Redis (every node applies it from the event) and returns the new plan. */
  async updatePlan(change: PlanChange): Promise<Plan> {
    const merged = { ...((PlanChange.safeParse(await this.shared.planChange()).data) ?? {}), ...change };
    await this.shared.setPlanChange(merged);
    this.plans.update(change);
    const plan = this.plan();
    this.events.emit('plan:changed', plan);
    return plan;
  }

  /**
   * Uploads packed as on one node (the aggregator decodes what this node validated, from the
   * stream, so packed uploads also cut Redis's bytes per update ~17×); pulls are whole float32.
   */
  plan(): Plan {
    return contributorPlan(this.run, this.config, this.plans.plan, {
      version: this.current, maxMessageBytes: this.maxMessageBytes(),
      compression: compressionPlan(this.config.upload, { downloads: ['float32'], diffs: false }),
    });
  }

  maxMessageBytes(): number {
    return maxMessageBytesOf(this.config, this.run);
  }

  /** The global weights of a version as GLWT bytes: read from Redis once per version, then from memory. */
  async pull(version: number | 'latest'): Promise<Pulled> {
    // A client may hear of a version (the adapter's broadcast) before this node does (pub/sub): ask the head.
    if (version === 'latest' || version > this.current) await this.refresh().catch(() => {});
    const v = version === 'latest' ? this.current : version;
    if (v > this.current) return { code: 'unknown_version', reason: `version ${v} does not exist yet (current ${this.current})` };
    let p = this.pulls.get(v);
    if (!p) {
      p = this.encodeVersion(v);
      this.pulls.set(v, p);
      void p.then((b) => b === null && this.pulls.delete(v), () => this.pulls.delete(v));
      while (this.pulls.size > PULL_CACHE) this.pulls.delete(Math.min(...this.pulls.keys()));
    }
    const bytes = await p;
    if (!bytes) return { code: 'version_unavailable', reason: `version ${v} is no longer kept (current ${this.current}); pull 'latest'` };
    return { version: v, bytes };
  }

  private async encodeVersion(v: number): Promise<Uint8Array | null> {
    const raw = await this.shared.checkpoint(v);
    if (!raw) return null;
    const s = decodeCheckpoint(raw).state;
    const map: WeightMap = new Map([...s.online, ...s.target]);
    return encodeWeights(map, { meta: { version: v, runId: this.run.runId, method: this.run.method } });
  }

  /** Checks a delta and durably accepts it into the shared stream (see the header). */
  submit(input: Omit<Submission, 'contributorId' | 'rateKey'>, contributorId: string, rateKey: string = contributorId): Promise<SubmitAck> {
    const running = this.inFlight.get(input.updateId);
    if (running) return running.then((ack): SubmitAck => (ack.ok ? { ...ack, status: 'duplicate' } : ack));
    const p = this.accept(input, contributorId, rateKey);
    this.inFlight.set(input.updateId, p);
    void p.finally(() => this.inFlight.delete(input.updateId));
    return p;
  }

  private async accept(input: Omit<Submission, 'contributorId' | 'rateKey'>, contributorId: string, rateKey: string): Promise<SubmitAck> {
    const a = this.config.aggregation;
    const limit = this.config.rateLimit;
    const refuse = (code: RejectCode, reason: string, retryAfterMs?: number): SubmitAck => {
      try {
        recordRejection(this.db, { at: Date.now(), contributorId, updateId: input.updateId, baseVersion: input.baseVersion, serverVersion: this.current, code, reason });
      } catch {
        /* history is best effort (the database may be closing) */
      }
      this.events.emit('update:rejected', { updateId: input.updateId, contributorId, code, reason });
      return { ok: false, code, reason, version: this.current, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    };
    const duplicate = (): SubmitAck => ({ ok: true, status: 'duplicate', updateId: input.updateId, version: this.current, bufferFill: 0, bufferSize: a.bufferSize, clipped: false });
    if (this.closing) return refuse('busy', 'the server is shutting down; retry later');
    let gate;
    try {
      gate = await this.shared.gate(input.updateId, rateKey, limit ? { perMinute: limit.perMinute, burst: resolveBurst(limit) } : null);
    } catch (e) {
      this.config.log(`shared state unreachable: ${(e as Error).message}`);
      return refuse('busy', 'the server cannot reach its shared state; retry later');
    }
    if (gate.kind === 'duplicate') return duplicate();
    if (gate.kind === 'rate_limited') {
      return refuse('rate_limited', `more than ${limit!.perMinute} submissions per minute (burst ${resolveBurst(limit!)}); retry in ${Math.ceil(gate.retryAfterMs / 1000)} s`, gate.retryAfterMs);
    }
    if (input.baseVersion > this.current) await this.refresh();
    const r = runIntake(this.stages, { ...input, contributorId, rateKey }, {
      version: this.current, specs: this.run.onlineSpecs, maxStaleness: a.maxStaleness, maxExamples: this.plans.plan.maxExamples,
      maxBuffered: a.maxBuffered, waiting: gate.waiting, closing: this.closing, normGuard: a.normGuard, recentNorms: referenceNorms(this.normStats), seen: () => null,
    });
    if (!r.ok) return 'duplicate' in r ? duplicate() : refuse(r.code, r.reason, r.retryAfterMs);
    // As the single-process server (core/guard.ts): each submitter counts once in the bound.
    this.normStats = recordNorm(this.normStats, normKey(rateKey), r.value.guardNorm, { perKey: DEFAULT_NORM_STATS_LIMITS.perKey, maxKeys: a.normGuard.window });
    const { delta: _delta, updateId, ...rest } = r.value.update;
    const meta: EntryMeta = rest;
    let streamId: string | null;
    try {
      streamId = await this.shared.append(updateId, JSON.stringify(meta), r.value.bytes);
    } catch (e) {
      this.config.log(`could not append update ${updateId}: ${(e as Error).message}`);
      return refuse('internal', 'the server could not store the update; retry later');
    }
    if (streamId === null) return duplicate();
    const u = r.value.update;
    this.events.emit('update:accepted', { updateId, contributorId, baseVersion: u.baseVersion, examples: u.examples, norm: u.norm, clipped: u.clipped, bufferFill: gate.waiting + 1 });
    return { ok: true, status: 'accepted', updateId, version: this.current, bufferFill: gate.waiting + 1, bufferSize: a.bufferSize, clipped: u.clipped };
  }

  /** Refuses new submissions ('busy') and waits for those in flight. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.inFlight.values()]);
  }
}
