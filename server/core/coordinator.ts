/**
 * The coordinator owns the global state of a run: validates and durably accepts deltas, folds the
 * buffer into server steps (aggregation/fedbuff.ts), writes checkpoints, and recovers after a
 * crash. It knows nothing about sockets or HTTP (those live in server/socket and server/http).
 *
 * Durability protocol (why an acknowledged update is never lost nor applied twice):
 *  1. accept: the validated delta's bytes are written to a file in pending/ and fsynced (plus the
 *     directory), then its row is committed to SQLite (`updates`, status 'pending'; WAL,
 *     synchronous=FULL), and only then is the ack sent. Submissions arriving together share one
 *     directory fsync and one commit (group commit). `update_id` is the primary key, so a
 *     resubmission is recognised as a duplicate from then on.
 *  2. fold: the new state is computed in fresh arrays; the checkpoint of version v+1 — recording
 *     the folded update ids — is written atomically; only then are the rows marked 'applied' and
 *     the state swapped in and announced. A crash before the checkpoint leaves the rows pending
 *     (they are folded again later, once); a crash after it but before the SQLite commit is
 *     finished at recovery from the ids in the checkpoint.
 *  3. recovery: newest valid checkpoint → rows folded according to it are marked applied → every
 *     other pending row (plus the checkpoint's own buffer) becomes the buffer again; files that no
 *     row references (written, never committed, never acknowledged) are deleted.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Plan, RejectCode, SubmitAck } from '../../shared/protocol/messages';
import { OptimizerPlan, PROTOCOL_VERSION } from '../../shared/protocol/messages';
import { z } from 'zod';
import type { MomentumPair } from '../../shared/ssl/method';
import { encodeWeights } from '../../shared/weights/codec';
import { specsOf, type WeightMap, type WeightSpec } from '../../shared/weights/weight-map';
import { fedbuffStep, type BufferedUpdate, type GlobalState, type StepSummary } from '../aggregation/fedbuff';
import { initServerOptimizer, slotNames } from '../aggregation/server-optimizer';
import { applyNormDecision, decideNorm, decodeDelta, normAndFinite } from '../aggregation/validate';
import type { ResolvedConfig } from '../config';
import { ConfigError } from '../config';
import { productEncoderWeights, type EncoderSource } from '../model/encoder-export';
import { describeMethod } from '../model/method-info';
import type { EmaSchedule } from '../../shared/federation/ema';
import { CheckpointStore, type Checkpoint, type CheckpointMeta } from '../store/checkpoint';
import { openDatabase, type Db } from '../store/db';
import { failpoint } from '../store/failpoints';
import { PendingStore } from '../store/pending';
import { recordRejection, recordStep, type RejectionRow } from '../store/history';
import { createRateLimiter, resolveBurst, type RateLimiter } from './rate-limit';
import type { ServerEvents } from './events';

export interface SubmitInput {
  updateId: string;
  baseVersion: number;
  examples: number;
  loss: number | null;
  bytes: Uint8Array;
}

interface RunInfo {
  runId: string;
  method: string;
  methodConfig: Record<string, unknown>;
  momentumPairs: MomentumPair[];
  encoderNames: string[];
  onlineSpecs: WeightSpec[];
  /** The method's preferred EMA momentum; used unless the operator set one (config.aggregation.emaExplicit). */
  serverMomentum?: number;
}

/** A runtime plan change (POST /api/admin/plan). */
export interface PlanChange {
  localSteps?: number;
  batchSize?: number;
  clientOptimizer?: ResolvedConfig['clientOptimizer'];
}

const PLAN_OVERRIDES_KEY = 'plan_overrides';

/** The stored admin plan change; a row that does not parse (hand-edited, older schema) is ignored. */
function readPlanOverrides(db: Db): PlanChange {
  const raw = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(PLAN_OVERRIDES_KEY) as string | undefined;
  if (raw === undefined) return {};
  const p = StoredPlanChange.safeParse(safeJson(raw));
  return p.success ? p.data : {};
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

const StoredPlanChange = z.object({
  localSteps: z.number().int().min(1).optional(),
  batchSize: z.number().int().min(1).optional(),
  clientOptimizer: OptimizerPlan.optional(),
});

/** Versions of the global payload kept encoded in memory for pulls. */
const PULL_CACHE = 3;
/** Update ids per version remembered in checkpoints for finishing interrupted commits. */
const FOLDED_MEMORY = 16;

export class Coordinator {
  private state: GlobalState;
  private buffer: BufferedUpdate[] = [];
  private recentNorms: number[];
  private folded: Array<{ version: number; ids: string[] }>;
  private lastStep: StepSummary | null;
  private folding: Promise<void> | null = null;
  private ioChain: Promise<unknown> = Promise.resolve();
  private pullCache = new Map<number, Uint8Array>();
  private flushTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closing = false;
  /** Set by pause(): no new server step starts. */
  private pauseRequested: number | null = null;
  /** Set once no step is in flight either: what observers see as "paused" (the version is final). */
  private pausedSince: number | null = null;
  private commitQueue: Array<{ update: BufferedUpdate; file: string; bytes: Uint8Array; resolve: (a: SubmitAck) => void }> = [];
  private committing: Promise<void> | null = null;
  private rejectQueue: RejectionRow[] = [];
  private queuedIds = new Map<string, Promise<SubmitAck>>();
  private commitScheduled = false;
  private readonly insertUpdate;
  private readonly hasUpdate;
  private readonly rateLimiter: RateLimiter | null;

  private constructor(
    readonly config: ResolvedConfig,
    readonly db: Db,
    private readonly store: CheckpointStore,
    private readonly pending: PendingStore,
    readonly run: RunInfo,
    private readonly events: ServerEvents,
    restored: { state: GlobalState; recentNorms: number[]; folded: Array<{ version: number; ids: string[] }>; lastStep: StepSummary | null },
  ) {
    this.state = restored.state;
    this.recentNorms = restored.recentNorms;
    this.folded = restored.folded;
    this.lastStep = restored.lastStep;
    this.insertUpdate = db.prepare(`INSERT INTO updates (update_id, contributor_id, base_version, examples, loss, norm, clipped, received_at, status, delta_file)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`);
    this.hasUpdate = db.prepare('SELECT 1 FROM updates WHERE update_id = ?').pluck();
    this.rateLimiter = config.rateLimit ? createRateLimiter(config.rateLimit) : null;
  }

  /** Opens (or creates) the run in `config.dataDir`, recovering from the newest valid checkpoint. */
  static async open(config: ResolvedConfig, events: ServerEvents): Promise<Coordinator> {
    const log = config.log;
    await mkdir(config.dataDir, { recursive: true });
    const db = openDatabase(join(config.dataDir, 'glimpse.db'));
    try {
      const store = new CheckpointStore(join(config.dataDir, 'checkpoints'), config.keepCheckpoints);
      const pending = new PendingStore(join(config.dataDir, 'pending'));
      await pending.init();
      await store.removeTempFiles();
      const { checkpoint, skipped } = await store.loadLatest();
      for (const s of skipped) log(`skipped unreadable checkpoint ${s}`);
      let coord: Coordinator;
      if (checkpoint) {
        coord = Coordinator.fromCheckpoint(config, db, store, pending, events, checkpoint);
        await coord.recover(checkpoint);
        log(`resumed run ${coord.run.runId} (${coord.run.method}) at version ${coord.state.version}, ${coord.buffer.length} buffered update(s)`);
      } else {
        coord = await Coordinator.fresh(config, db, store, pending, events);
        await coord.writeCheckpoint(coord.state, []);
        log(`started run ${coord.run.runId} (${coord.run.method}) at version 0${config.seed === undefined ? '' : `, initial weights from seed ${config.seed}`}`);
      }
      coord.restorePlanOverrides();
      coord.scheduleFold();
      return coord;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  private static async fresh(config: ResolvedConfig, db: Db, store: CheckpointStore, pending: PendingStore, events: ServerEvents): Promise<Coordinator> {
    const method = config.method ?? 'byol';
    const methodConfig = config.methodConfig ?? {};
    let info;
    try {
      info = await describeMethod(method, methodConfig, config.seed);
    } catch (e) {
      throw new ConfigError(`cannot build method '${method}': ${(e as Error).message}`);
    }
    const pick = (specs: WeightSpec[]): WeightMap => new Map(specs.map((s) => [s.name, info.initial.get(s.name)!]));
    const state: GlobalState = {
      version: 0,
      online: pick(info.onlineSpecs),
      target: pick(info.targetSpecs),
      optimizer: initServerOptimizer(config.aggregation.serverOptimizer, info.onlineSpecs),
    };
    const run: RunInfo = { runId: randomUUID(), method, methodConfig, momentumPairs: info.momentumPairs, encoderNames: info.encoderNames, onlineSpecs: info.onlineSpecs, serverMomentum: info.serverMomentum };
    return new Coordinator(config, db, store, pending, run, events, { state, recentNorms: [], folded: [], lastStep: null });
  }

  private static fromCheckpoint(config: ResolvedConfig, db: Db, store: CheckpointStore, pending: PendingStore, events: ServerEvents, c: Checkpoint): Coordinator {
    const m = c.meta;
    if (config.method && config.method !== m.method) {
      throw new ConfigError(`the data dir ${config.dataDir} holds a '${m.method}' run; start with --method ${m.method} or use another --data-dir`);
    }
    if (config.methodConfig && JSON.stringify(config.methodConfig) !== JSON.stringify(m.methodConfig)) {
      throw new ConfigError(`the data dir ${config.dataDir} holds a run with method config ${JSON.stringify(m.methodConfig)}; it cannot change mid-run`);
    }
    let state = c.state;
    const want = config.aggregation.serverOptimizer;
    const slotsMatch = JSON.stringify(slotNames(want)) === JSON.stringify(Object.keys(state.optimizer.slots).sort()) && m.serverOptimizer.kind === want.kind;
    if (!slotsMatch) {
      config.log(`server optimizer changed from ${m.serverOptimizer.kind} to ${want.kind}: its state starts fresh`);
      state = { ...state, optimizer: initServerOptimizer(want, specsOf(state.online)) };
    }
    const run: RunInfo = {
      runId: m.runId, method: m.method, methodConfig: m.methodConfig, momentumPairs: m.momentumPairs,
      encoderNames: (m.extra.encoderNames as string[]) ?? [], onlineSpecs: specsOf(state.online),
      serverMomentum: m.extra.serverMomentum as number | undefined,
    };
    return new Coordinator(config, db, store, pending, run, events, { state, recentNorms: m.recentNorms, folded: m.folded, lastStep: m.lastStep });
  }

  /** Finishes an interrupted commit and rebuilds the buffer (see the header comment). */
  private async recover(c: Checkpoint): Promise<void> {
    const v = c.meta.version;
    // Updates buffered in the checkpoint but unknown to SQLite (e.g. a copied checkpoint): adopt them.
    const adopt = c.buffer.filter((u) => !this.hasUpdate.get(u.updateId)).map((u) => ({ u, file: this.pending.newName(), bytes: encodeWeights(u.delta) }));
    if (adopt.length) await this.pending.writeAll(adopt.map((a) => ({ name: a.file, bytes: a.bytes })));
    this.db.transaction(() => {
      // Rows the checkpoint says were folded but SQLite still calls pending: the commit after the
      // checkpoint write was interrupted.
      const mark = this.db.prepare(`UPDATE updates SET status = 'applied', applied_version = ? WHERE update_id = ? AND status = 'pending'`);
      for (const f of c.meta.folded) for (const id of f.ids) mark.run(f.version, id);
      if (c.meta.lastStep && c.meta.lastStep.version === v) recordStep(this.db, c.meta.lastStep);
      // Rows applied after this checkpoint (a newer one was unreadable): fold them again if we still have them.
      const later = this.db.prepare(`UPDATE updates SET status = 'pending', applied_version = NULL WHERE status = 'applied' AND applied_version > ? AND delta_file IS NOT NULL`).run(v);
      if (later.changes) this.config.log(`re-buffering ${later.changes} update(s) folded after checkpoint ${v}`);
      for (const { u, file } of adopt) {
        this.insertUpdate.run(u.updateId, u.contributorId, u.baseVersion, u.examples, u.loss, u.norm, u.clipped ? 1 : 0, u.receivedAt, file);
      }
    })();
    const rows = this.db.prepare(`SELECT update_id, contributor_id, base_version, examples, loss, norm, clipped, received_at, delta_file
      FROM updates WHERE status = 'pending' ORDER BY received_at, rowid`).all() as Array<{
      update_id: string; contributor_id: string; base_version: number; examples: number; loss: number | null;
      norm: number; clipped: number; received_at: number; delta_file: string | null;
    }>;
    for (const r of rows) {
      let decoded = null;
      try {
        decoded = r.delta_file ? decodeDelta(await this.pending.read(r.delta_file), this.run.onlineSpecs) : null;
      } catch {
        decoded = null;
      }
      if (!decoded || !decoded.ok) {
        this.config.log(`pending update ${r.update_id} has no readable delta; dropping it`);
        this.db.prepare(`DELETE FROM updates WHERE update_id = ?`).run(r.update_id);
        continue;
      }
      this.buffer.push({
        updateId: r.update_id, contributorId: r.contributor_id, baseVersion: r.base_version, examples: r.examples, loss: r.loss,
        norm: r.norm, clipped: !!r.clipped, receivedAt: r.received_at, delta: decoded.value,
      });
    }
    // Files no row references: written before a crash, never committed, never acknowledged.
    const referenced = new Set((this.db.prepare('SELECT delta_file FROM updates WHERE delta_file IS NOT NULL').pluck().all() as string[]));
    const orphans = (await this.pending.list()).filter((n) => !referenced.has(n));
    await this.pending.remove(orphans);
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
    return this.folding !== null;
  }

  get lastAggregation(): StepSummary | null {
    return this.lastStep;
  }

  get hasTarget(): boolean {
    return this.run.momentumPairs.length > 0;
  }

  /** Epoch ms since when aggregation is paused (admin), or null while it runs. */
  get pausedAt(): number | null {
    return this.pausedSince;
  }

  /**
   * Stops taking server steps: accepted deltas keep buffering (up to maxBuffered, then 'busy');
   * an explicit flush() still folds. Runtime only: a restarted server aggregates again.
   * Returns false when already paused.
   */
  pause(): boolean {
    if (this.pauseRequested !== null) return false;
    const at = Date.now();
    this.pauseRequested = at;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    // A step already running finishes first; only then is the run paused for observers, so the
    // version they read after seeing "paused" is the one it stays at.
    const settle = () => {
      if (this.pauseRequested === at) this.pausedSince = at;
    };
    if (this.folding) this.folding.then(settle, settle);
    else settle();
    return true;
  }

  /** Resolves once no server step is running; returns the version then. */
  async settled(): Promise<number> {
    if (this.folding) await this.folding.catch(() => {});
    return this.state.version;
  }

  /** Resumes server steps and folds a buffer that filled meanwhile. Returns false when not paused. */
  resume(): boolean {
    if (this.pauseRequested === null) return false;
    this.pauseRequested = null;
    this.pausedSince = null;
    this.scheduleFold();
    return true;
  }

  /** Pending update ids in buffer order (admin/debugging). */
  bufferedIds(): string[] {
    return this.buffer.map((u) => u.updateId);
  }

  /**
   * Changes what contributors do from their next round (local steps, batch size, optimizer) and
   * announces it (`plan:update`). The change is kept in the run database and re-applied at the
   * next start, except fields that start sets explicitly (restorePlanOverrides).
   */
  updatePlan(change: PlanChange): Plan {
    this.applyPlanChange(change);
    // Kept in the run's database: a restart keeps the admin's plan unless its own flags say otherwise.
    const stored = { ...readPlanOverrides(this.db), ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) };
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(PLAN_OVERRIDES_KEY, JSON.stringify(stored));
    const plan = this.plan();
    this.events.emit('plan:changed', plan);
    return plan;
  }

  private applyPlanChange(change: PlanChange): void {
    if (change.localSteps !== undefined) this.config.localSteps = change.localSteps;
    if (change.batchSize !== undefined) this.config.batchSize = change.batchSize;
    if (change.clientOptimizer !== undefined) this.config.clientOptimizer = change.clientOptimizer;
    // A longer round legitimately reports more examples: the derived bound follows the plan.
    const a = this.config.aggregation;
    if (!a.maxExamplesExplicit) a.maxExamples = 4 * this.config.localSteps * this.config.batchSize;
  }

  /** Re-applies the admin plan change stored by an earlier start, except fields set explicitly for this one. */
  private restorePlanOverrides(): void {
    const stored = readPlanOverrides(this.db);
    const explicit = this.config.planExplicit;
    const change: PlanChange = {
      localSteps: explicit.localSteps ? undefined : stored.localSteps,
      batchSize: explicit.batchSize ? undefined : stored.batchSize,
      clientOptimizer: explicit.clientOptimizer ? undefined : stored.clientOptimizer,
    };
    const restored = Object.entries(change).filter(([, v]) => v !== undefined);
    if (restored.length === 0) return;
    this.applyPlanChange(change);
    this.config.log(`plan restored from an earlier admin change: ${restored.map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')}`);
  }

  plan(): Plan {
    const c = this.config;
    return {
      protocol: PROTOCOL_VERSION,
      runId: this.run.runId,
      method: this.run.method,
      methodConfig: this.run.methodConfig,
      optimizer: c.clientOptimizer,
      localSteps: c.localSteps,
      batchSize: c.batchSize,
      version: this.state.version,
      maxStaleness: c.aggregation.maxStaleness,
      maxExamples: c.aggregation.maxExamples,
      maxMessageBytes: this.maxMessageBytes(),
      bufferSize: c.aggregation.bufferSize,
      hasTarget: this.hasTarget,
    };
  }

  /** Socket.IO's maxHttpBufferSize: the encoded delta of this model plus headroom, unless configured. */
  maxMessageBytes(): number {
    if (this.config.maxMessageBytes) return this.config.maxMessageBytes;
    let floats = 0;
    let header = 64;
    for (const s of this.run.onlineSpecs) {
      floats += s.shape.reduce((a, b) => a * b, 1);
      header += s.name.length + 96;
    }
    return Math.ceil((floats * 4 + header) * 1.25) + 64 * 1024;
  }

  /** The global weights (online + target) of a version as GLWT bytes, cached per version. */
  async pull(version: number | 'latest'): Promise<{ version: number; bytes: Uint8Array } | { code: RejectCode; reason: string }> {
    const v = version === 'latest' ? this.state.version : version;
    const cached = this.pullCache.get(v);
    if (cached) return { version: v, bytes: cached };
    let online: WeightMap, target: WeightMap;
    if (v === this.state.version) {
      ({ online, target } = this.state);
    } else if (v > this.state.version) {
      return { code: 'unknown_version', reason: `version ${v} does not exist yet (current ${this.state.version})` };
    } else {
      try {
        ({ online, target } = (await this.store.read(v)).state);
      } catch {
        return { code: 'version_unavailable', reason: `version ${v} is no longer kept (current ${this.state.version}); pull 'latest'` };
      }
    }
    const map: WeightMap = new Map([...online, ...target]);
    const bytes = encodeWeights(map, { meta: { version: v, runId: this.run.runId, method: this.run.method } });
    this.pullCache.set(v, bytes);
    while (this.pullCache.size > PULL_CACHE) this.pullCache.delete(Math.min(...this.pullCache.keys()));
    return { version: v, bytes };
  }

  /** The product encoder of a version (see model/encoder-export.ts), or null if not kept. */
  async encoderWeights(version: number | 'latest'): Promise<{ version: number; source: EncoderSource; weights: WeightMap } | null> {
    const v = version === 'latest' ? this.state.version : version;
    let s: GlobalState;
    if (v === this.state.version) s = this.state;
    else {
      try {
        s = (await this.store.read(v)).state;
      } catch {
        return null;
      }
    }
    return { version: v, ...productEncoderWeights(s.online, s.target, this.run.encoderNames) };
  }

  /**
   * Validates a delta and durably accepts it. Validation is synchronous; accepted deltas are
   * committed to SQLite in groups (one transaction and one fsync for every submission that
   * arrived in the same event-loop turn — group commit) and acknowledged only after the commit.
   */
  submit(input: SubmitInput, contributorId: string, rateKey: string = contributorId): Promise<SubmitAck> {
    const a = this.config.aggregation;
    const version = this.state.version;
    const reject = (code: RejectCode, reason: string): Promise<SubmitAck> => {
      this.rejectQueue.push({ at: Date.now(), contributorId, updateId: input.updateId, baseVersion: input.baseVersion, serverVersion: version, code, reason });
      this.scheduleCommit();
      this.events.emit('update:rejected', { updateId: input.updateId, contributorId, code, reason });
      return Promise.resolve({ ok: false, code, reason, version });
    };
    const queued = this.queuedIds.get(input.updateId);
    if (queued) return queued.then((ack): SubmitAck => (ack.ok ? { ...ack, status: 'duplicate' } : ack));
    if (this.hasUpdate.get(input.updateId)) {
      return Promise.resolve({ ok: true, status: 'duplicate', updateId: input.updateId, version, bufferFill: this.buffer.length, bufferSize: a.bufferSize, clipped: false });
    }
    if (this.closing) return reject('busy', 'the server is shutting down; retry later');
    // After the duplicate checks (a retry of an accepted update is answered, not limited), before
    // any decoding: a flood costs the server a map lookup per message.
    const admitted = this.rateLimiter?.take(rateKey) ?? { ok: true };
    if (!admitted.ok) {
      const burst = resolveBurst(this.config.rateLimit!);
      return reject('rate_limited', `more than ${this.config.rateLimit!.perMinute} submissions per minute (burst ${burst}); retry in ${Math.ceil(admitted.retryAfterMs / 1000)} s`)
        .then((ack) => ({ ...ack, retryAfterMs: admitted.retryAfterMs }));
    }
    if (input.baseVersion > version) return reject('unknown_version', `base version ${input.baseVersion} is newer than the server's ${version}`);
    const tau = version - input.baseVersion;
    if (tau > a.maxStaleness) return reject('too_stale', `base version ${input.baseVersion} is ${tau} versions old (max ${a.maxStaleness}); pull the latest weights`);
    if (!(Number.isInteger(input.examples) && input.examples >= 1 && input.examples <= a.maxExamples)) {
      return reject('bad_examples', `examples must be an integer in 1..${a.maxExamples}, got ${input.examples}`);
    }
    if (this.buffer.length + this.commitQueue.length >= a.maxBuffered) {
      return reject('busy', `${this.buffer.length + this.commitQueue.length} updates are waiting to be folded; retry later`);
    }
    const decoded = decodeDelta(input.bytes, this.run.onlineSpecs);
    if (!decoded.ok) return reject(decoded.code, decoded.reason);
    const checked = normAndFinite(decoded.value);
    if (!checked.ok) return reject(checked.code, checked.reason);
    const norm = checked.value;
    const decision = decideNorm(norm, this.recentNorms, a.normGuard);
    if (decision.action === 'reject') return reject('norm_too_large', decision.reason);
    const clipped = decision.action === 'clip';
    const delta = applyNormDecision(decoded.value, decision);
    this.recentNorms.push(clipped ? decision.bound : norm);
    if (this.recentNorms.length > a.normGuard.window) this.recentNorms.splice(0, this.recentNorms.length - a.normGuard.window);
    const update: BufferedUpdate = {
      updateId: input.updateId, contributorId, baseVersion: input.baseVersion, examples: input.examples,
      loss: input.loss, norm, clipped, receivedAt: Date.now(), delta,
    };
    const bytes = clipped ? encodeWeights(delta) : input.bytes;
    const p = new Promise<SubmitAck>((resolve) => this.commitQueue.push({ update, file: this.pending.newName(), bytes, resolve }));
    this.queuedIds.set(update.updateId, p);
    this.scheduleCommit();
    return p;
  }

  /** Starts a group commit unless one is running (which picks up the queue when it ends). */
  private scheduleCommit(): void {
    if (this.commitScheduled || this.committing) return;
    this.commitScheduled = true;
    setImmediate(() => {
      this.commitScheduled = false;
      this.committing = this.commitLoop().finally(() => (this.committing = null));
    });
  }

  private async commitLoop(): Promise<void> {
    while (this.commitQueue.length || this.rejectQueue.length) await this.commitBatch();
  }

  /**
   * One group commit: every queued delta's file written and fsynced (in parallel), the directory
   * fsynced once, then one SQLite transaction for the rows and the queued rejections, then the acks.
   */
  private async commitBatch(): Promise<void> {
    const batch = this.commitQueue.splice(0);
    const rejections = this.rejectQueue.splice(0);
    const a = this.config.aggregation;
    const fail = (code: 'internal' | 'busy', reason: string) => {
      for (const { update, resolve } of batch) {
        this.queuedIds.delete(update.updateId);
        resolve({ ok: false, code, reason, version: this.state.version });
      }
    };
    try {
      if (batch.length) await this.pending.writeAll(batch.map((b) => ({ name: b.file, bytes: b.bytes })));
      if (!this.db.open) return fail('busy', 'the server is shutting down; retry later');
      this.db.transaction(() => {
        for (const r of rejections) recordRejection(this.db, r);
        for (const { update: u, file } of batch) {
          this.insertUpdate.run(u.updateId, u.contributorId, u.baseVersion, u.examples, u.loss, u.norm, u.clipped ? 1 : 0, u.receivedAt, file);
        }
      })();
    } catch (e) {
      this.config.log(`could not persist ${batch.length} update(s): ${(e as Error).message}`);
      void this.pending.remove(batch.map((b) => b.file)).catch(() => {});
      return fail('internal', 'the server could not store the update; retry later');
    }
    failpoint('submit:after-persist');
    for (const { update, resolve } of batch) {
      this.queuedIds.delete(update.updateId);
      this.buffer.push(update);
      this.events.emit('update:accepted', {
        updateId: update.updateId, contributorId: update.contributorId, baseVersion: update.baseVersion, examples: update.examples,
        norm: update.norm, clipped: update.clipped, bufferFill: this.buffer.length,
      });
      resolve({ ok: true, status: 'accepted', updateId: update.updateId, version: this.state.version, bufferFill: this.buffer.length, bufferSize: a.bufferSize, clipped: update.clipped });
    }
    this.scheduleFold();
  }

  /** Deletes the delta files of updates folded at or before `upTo` (kept that long for fallback recovery). */
  private async pruneDeltaFiles(upTo: number): Promise<void> {
    const rows = this.db.prepare(`SELECT update_id, delta_file FROM updates WHERE status = 'applied' AND applied_version <= ? AND delta_file IS NOT NULL`).all(upTo) as Array<{ update_id: string; delta_file: string }>;
    if (!rows.length) return;
    const clear = this.db.prepare('UPDATE updates SET delta_file = NULL WHERE update_id = ?');
    this.db.transaction(() => {
      for (const r of rows) clear.run(r.update_id);
    })();
    await this.pending.remove(rows.map((r) => r.delta_file));
  }

  private scheduleFold(): void {
    if (this.closing || this.pauseRequested !== null) return;
    const a = this.config.aggregation;
    if (this.buffer.length >= a.bufferSize) {
      if (!this.folding) this.folding = this.foldWhileFull().finally(() => (this.folding = null));
    } else if (a.flushAfterMs > 0 && this.buffer.length > 0 && !this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        void this.flush();
      }, a.flushAfterMs);
      this.flushTimer.unref();
    }
  }

  private async foldWhileFull(): Promise<void> {
    while (!this.closing && this.pauseRequested === null && this.buffer.length >= this.config.aggregation.bufferSize) {
      if (!(await this.foldOnce())) return;
    }
  }

  /** Folds whatever is buffered now (admin "flush", flushAfterMs). Resolves with the new version. */
  async flush(): Promise<number> {
    if (this.folding) await this.folding;
    if (this.buffer.length > 0 && !this.closing) {
      this.folding = this.foldOnce().then(() => {}).finally(() => (this.folding = null));
      await this.folding;
    }
    return this.state.version;
  }

  /** The target EMA: the operator's schedule if they set one, else the method's preferred momentum (MoCo: 0.999). */
  emaSchedule(): EmaSchedule {
    const a = this.config.aggregation;
    if (a.emaExplicit || this.run.serverMomentum === undefined) return a.ema;
    return { ...a.ema, base: this.run.serverMomentum };
  }

  /** One server step over the whole buffer. Returns false if it failed (the buffer is kept). */
  private async foldOnce(): Promise<boolean> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const taken = this.buffer.splice(0, this.buffer.length);
    if (taken.length === 0) return true;
    const a = this.config.aggregation;
    try {
      const { state, summary } = fedbuffStep(this.state, taken, this.run.onlineSpecs, this.run.momentumPairs, {
        stalenessExponent: a.stalenessExponent, serverOptimizer: a.serverOptimizer, ema: this.emaSchedule(),
      });
      const folded = [...this.folded, { version: state.version, ids: taken.map((u) => u.updateId) }].slice(-FOLDED_MEMORY);
      await this.writeCheckpoint(state, this.buffer, { folded, lastStep: summary });
      failpoint('fold:after-checkpoint');
      recordStep(this.db, summary);
      this.state = state;
      this.folded = folded;
      this.lastStep = summary;
      this.events.emit('version:created', summary);
      this.config.log(
        `version ${state.version}: ${summary.updates.length} update(s) from ${summary.contributors} contributor(s), ` +
          `mean loss ${summary.meanLoss?.toFixed(4) ?? '–'}, |Δ̄| ${summary.aggregateNorm.toExponential(2)}`,
      );
      void this.io(() => this.store.prune()).catch((e) => this.config.log(`checkpoint prune failed: ${(e as Error).message}`));
      void this.pruneDeltaFiles(state.version - this.config.keepCheckpoints).catch((e) => this.config.log(`delta file prune failed: ${(e as Error).message}`));
      return true;
    } catch (e) {
      this.buffer.unshift(...taken);
      this.events.emit('server:error', { where: 'fold', error: e as Error });
      this.config.log(`server step failed, ${taken.length} update(s) stay buffered: ${(e as Error).message}`);
      if (!this.retryTimer && !this.closing) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.scheduleFold();
        }, 2000);
        this.retryTimer.unref();
      }
      return false;
    }
  }

  private writeCheckpoint(
    state: GlobalState,
    buffer: readonly BufferedUpdate[],
    o: { folded?: CheckpointMeta['folded']; lastStep?: StepSummary | null } = {},
  ): Promise<void> {
    const meta: CheckpointMeta = {
      format: 1,
      runId: this.run.runId,
      version: state.version,
      method: this.run.method,
      methodConfig: this.run.methodConfig,
      momentumPairs: this.run.momentumPairs,
      serverOptimizer: this.config.aggregation.serverOptimizer,
      optimizerStep: state.optimizer.step,
      onlineNames: [...state.online.keys()],
      targetNames: [...state.target.keys()],
      recentNorms: [...this.recentNorms],
      folded: o.folded ?? this.folded,
      lastStep: o.lastStep === undefined ? this.lastStep : o.lastStep,
      buffer: [],
      createdAt: Date.now(),
      extra: { encoderNames: this.run.encoderNames, serverMomentum: this.run.serverMomentum, config: { aggregation: this.config.aggregation, localSteps: this.config.localSteps, batchSize: this.config.batchSize } },
    };
    const snapshot = [...buffer];
    return this.io(async () => {
      const t0 = performance.now();
      const bytes = await this.store.write({ meta, state, buffer: snapshot });
      this.events.emit('checkpoint:written', { version: state.version, bytes, ms: performance.now() - t0, buffered: snapshot.length });
    });
  }

  /** Runs checkpoint-directory work one job at a time (writes, pruning). */
  private io<T>(job: () => Promise<T>): Promise<T> {
    const p = this.ioChain.then(job, job);
    this.ioChain = p.catch(() => {});
    return p;
  }

  /** Writes a checkpoint of the current state and buffer now (admin route, shutdown). */
  async checkpoint(): Promise<number> {
    if (this.folding) await this.folding;
    await this.writeCheckpoint(this.state, this.buffer);
    return this.state.version;
  }

  /** Stops accepting, waits for a running server step, writes a final checkpoint, closes SQLite. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const t of [this.flushTimer, this.retryTimer]) if (t) clearTimeout(t);
    if (this.committing) await this.committing;
    await this.commitLoop();
    if (this.folding) await this.folding;
    try {
      await this.writeCheckpoint(this.state, this.buffer);
    } finally {
      this.db.close();
    }
  }
}
