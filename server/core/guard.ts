/**
 * The run's defences against hostile or broken contributors (issue 13), as the coordinator's one
 * collaborator for them: the norm guard's per-contributor statistics (aggregation/norm-stats.ts),
 * the robust combine's centre, the operator's quarantine list and per-contributor records
 * (store/accountability.ts), and the DP privacy ledger (aggregation/rdp-accountant.ts).
 *
 * Durability: norm statistics and the privacy ledger travel in every checkpoint (a restart
 * continues with them); quarantine and records live in SQLite; the centre of centered clipping is
 * memory only (after a restart the first step clips around zero, as the first step of a run does).
 */
import { mulberry32 } from '../../shared/data/rng';
import type { WeightMap } from '../../shared/weights/weight-map';
import type { StepContext, StepSummary } from '../aggregation/fedbuff';
import { cryptoUniform, normalSampler, type DpConfig } from '../aggregation/dp-fedavg';
import { DEFAULT_NORM_STATS_LIMITS, describeNormStats, normKey, recordNorm, referenceNorms, type NormStats } from '../aggregation/norm-stats';
import { charge, EMPTY_LEDGER, epsilonOf, type PrivacyLedger } from '../aggregation/rdp-accountant';
import type { ResolvedConfig } from '../config';
import { addQuarantine, initAccountabilityTables, quarantinedIds, recordScores, removeQuarantine } from '../store/accountability';
import type { Db } from '../store/db';

/** Bucketing's seed for the step from `version`: reproducible per version. */
const stepSeed = (version: number): number => 0x9e3779b9 ^ version;

/** What a checkpoint records of the guard. */
export interface GuardCheckpointFields {
  normStats: NormStats;
  privacy: PrivacyLedger | null;
  /** The DP status as the model card reads it (offline export). */
  dp: unknown;
}

export class Guard {
  private stats: NormStats;
  private ledger: PrivacyLedger;
  private center: WeightMap | null = null;
  private readonly quarantined: Set<string>;
  private readonly normal = normalSampler(cryptoUniform());

  constructor(
    private readonly db: Db,
    private readonly config: ResolvedConfig,
    restored: { normStats: NormStats; privacy: PrivacyLedger | null },
  ) {
    initAccountabilityTables(db);
    this.stats = restored.normStats;
    this.ledger = restored.privacy ?? EMPTY_LEDGER;
    this.quarantined = new Set(quarantinedIds(db));
  }

  /** The norm guard's reference norms, one per recently active contributor (intake's view). */
  referenceNorms(): number[] {
    return referenceNorms(this.stats);
  }

  /** Records an accepted update's guard norm for whom the server can tell apart (its rate-limit key). */
  recordNorm(rateKey: string, norm: number): void {
    this.stats = recordNorm(this.stats, normKey(rateKey), norm, { perKey: DEFAULT_NORM_STATS_LIMITS.perKey, maxKeys: this.config.aggregation.normGuard.window });
  }

  normStats(): ReturnType<typeof describeNormStats> {
    return describeNormStats(this.stats);
  }

  /** Forgets every norm (admin): the relative bound waits for minHistory contributors again. Returns how many were known. */
  resetNormStats(): number {
    const n = this.stats.length;
    this.stats = [];
    this.config.log(`norm statistics reset by the operator (${n} contributor(s) forgotten)`);
    return n;
  }

  isQuarantined(contributorId: string): boolean {
    return this.quarantined.has(contributorId);
  }

  /** From now on its updates are acknowledged and logged but folded with weight 0. */
  quarantine(contributorId: string, reason: string): boolean {
    this.quarantined.add(contributorId);
    const added = addQuarantine(this.db, contributorId, reason);
    if (added) this.config.log(`contributor ${contributorId} quarantined: ${reason}`);
    return added;
  }

  release(contributorId: string): boolean {
    this.quarantined.delete(contributorId);
    const removed = removeQuarantine(this.db, contributorId);
    if (removed) this.config.log(`contributor ${contributorId} released from quarantine`);
    return removed;
  }

  /** What fedbuffStep needs for the step producing `version + 1`. Bucketing is seeded by the version (reproducible). */
  stepContext(version: number): StepContext {
    return { center: this.center, rand: mulberry32(stepSeed(version)), normal: this.normal, quarantined: new Set(this.quarantined), denominator: this.config.aggregation.bufferSize };
  }

  /**
   * stepContext's data for a step in the fold worker (fold-thread.ts), which rebuilds the functions
   * itself. `center`: the centre a step folded but not yet committed left (the coordinator folds
   * the next buffer while that step's checkpoint is written); by default the committed one.
   */
  stepInputs(version: number, center: WeightMap | null = this.center): { center: WeightMap | null; randSeed: number; quarantined: string[]; denominator: number } {
    return { center, randSeed: stepSeed(version), quarantined: [...this.quarantined], denominator: this.config.aggregation.bufferSize };
  }

  /** The checkpoint fields for a state `steps` DP steps ahead of the ledger (1 while writing a step's checkpoint). */
  checkpointFields(steps = 0): GuardCheckpointFields {
    const dp = this.config.aggregation.dp;
    const privacy = dp && steps > 0 ? charge(this.ledger, dp.noiseMultiplier, steps) : this.ledger;
    return { normStats: this.stats, privacy, dp: dpStatusOf(this.config.aggregation.dp, privacy) };
  }

  /** After a step is durable: the centre, the contributors' records, the ledger. */
  committed(summary: StepSummary, center: WeightMap | null): void {
    if (center) this.center = center;
    const held = summary.updates.filter((u) => u.quarantined).length;
    if (held) this.config.log(`version ${summary.version}: ${held} update(s) of quarantined contributors folded with weight 0`);
    if (summary.scores?.length) recordScores(this.db, summary.version, summary.scores);
    const dp = this.config.aggregation.dp;
    if (dp) this.ledger = charge(this.ledger, dp.noiseMultiplier);
  }

  /** /api/status `dp`: ε at δ so far, or `{ enabled: false }` (the model card then says "no DP"). */
  dpStatus(): Record<string, unknown> {
    return dpStatusOf(this.config.aggregation.dp, this.ledger);
  }

  /** /api/status `robust`. */
  robustStatus(): Record<string, unknown> {
    const r = this.config.aggregation.robust;
    const d = describeNormStats(this.stats);
    return {
      rule: this.config.aggregation.dp ? `dp${r.kind === 'centered-clip' ? '+centered-clip' : ''}` : r.kind,
      ...(r.kind === 'centered-clip' ? { bucketSize: r.bucketSize, iterations: r.iterations, tau: r.tau ?? 'median distance', center: r.center } : {}),
      ...(r.kind === 'trimmed-mean' ? { trim: r.trim } : {}),
      normGuard: { mode: this.config.aggregation.normGuard.mode, contributors: d.contributors, reference: d.reference, floor: this.config.aggregation.normGuard.floor ?? 0 },
      quarantined: this.quarantined.size,
    };
  }
}

/**
 * The DP status of `ledger` under `dp` (/api/status `dp`, the model card): ε at δ so far, or
 * `{ enabled: false }` (with what an earlier DP run spent, if any). Shared by the single-process
 * server and the cluster's aggregator.
 */
export function dpStatusOf(dp: DpConfig | null, ledger: PrivacyLedger): Record<string, unknown> {
  const spent = ledger.steps > 0 ? epsilonOf(ledger, dp?.delta ?? 1e-5) : null;
  if (!dp) return { enabled: false, ...(spent ? { epsilonSpentEarlier: round(spent.epsilon), stepsEarlier: ledger.steps } : {}) };
  const e = epsilonOf(ledger, dp.delta);
  return { enabled: true, epsilon: round(e.epsilon), delta: dp.delta, clip: dp.clip, noiseMultiplier: dp.noiseMultiplier, steps: ledger.steps, accountant: 'RDP, Gaussian mechanism, no subsampling amplification' };
}

const round = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);
