/**
 * Intake: the ordered checks one delta submission passes before the update log may accept it.
 * A pipeline of named stages over a typed candidate; the first stage that stops the submission
 * decides the answer. Stages only read the server (an {@link IntakeView} snapshot) and never write
 * it — the rate limiter's token bucket is the one state a stage keeps — so the coordinator applies
 * the outcome (queue for commit, record the norm, record the rejection) in one place.
 *
 * Stage order (cheap and client-independent first, so a flood costs little; decoding last):
 *   1. dedupe         an id already committed or queued is answered 'duplicate', never limited
 *   2. shutting-down  'busy' while the server closes
 *   3. rate-limit     per-contributor token bucket ('rate_limited' + retryAfterMs), when configured
 *   4. staleness      'unknown_version' (base ahead of the server), 'too_stale' (τ > maxStaleness)
 *   5. examples       'bad_examples' unless an integer in 1..maxExamples (the live plan's bound)
 *   6. backlog        'busy' while maxBuffered updates wait to be folded
 *   7. decode         GLWT bytes → a delta with exactly the online names/shapes ('bad_encoding', 'wrong_weights')
 *   8. finite         ‖Δ‖₂ in one pass; 'not_finite' names the first NaN/±Inf
 *   9. norm-guard     hard bound and a bound relative to the contributors' median norm (each contributor
 *                     counts once, aggregation/norm-stats.ts; never below a floor): accept, clip
 *                     (re-encodes the bytes) or 'norm_too_large'
 *
 * Robust aggregation, quarantine and DP clipping (issue 13) act when a step folds the buffer
 * (aggregation/robust.ts, core/guard.ts), not here: they need the other updates of the step.
 * Adding a stage (compressed dtypes — issue 14): write an {@link IntakeStage} (pure over candidate and view; put what it establishes
 * on the candidate), insert it in {@link intakeStages} at its place, add it to the list above, and
 * give it a test in test/server/core/intake.test.ts. A stage that changes the delta sets
 * `bytes` to its re-encoding, because the update log stores `bytes`.
 */
import type { RejectCode } from '../../shared/protocol/messages';
import { encodeWeights, type SharedAlloc } from '../../shared/weights/codec';
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';
import type { BufferedUpdate } from '../aggregation/fedbuff';
import { applyNormDecision, decideNorm, decodeDelta, normAndFinite, type Checked, type NormGuardConfig } from '../aggregation/validate';
import { createRateLimiter, resolveBurst, type RateLimitConfig } from './rate-limit';

/** One `delta:submit` as the socket handler passes it on (already schema-validated). */
export interface Submission {
  updateId: string;
  baseVersion: number;
  examples: number;
  loss: number | null;
  bytes: Uint8Array;
  contributorId: string;
  /** Whom the rate limit counts (a token fingerprint or an address, see socket/federation.ts). */
  rateKey: string;
}

/** What stages may consult: the server as it is when the submission arrives. Read-only. */
export interface IntakeView {
  version: number;
  /** Names and shapes a delta must have (the online weights). */
  specs: readonly WeightSpec[];
  maxStaleness: number;
  maxExamples: number;
  maxBuffered: number;
  /** Accepted updates not yet folded: the buffer plus those queued for the next commit. */
  waiting: number;
  closing: boolean;
  normGuard: Readonly<NormGuardConfig>;
  /** The guard's reference norms: one per recently active contributor (norm-stats.ts referenceNorms). */
  recentNorms: readonly number[];
  /** 'stored' when the id is committed, 'queued' when it waits in the group commit, else null. */
  seen(updateId: string): 'stored' | 'queued' | null;
  /** Where the decode stage puts a delta's values (delta-memory.ts); a fresh SharedArrayBuffer if absent. */
  alloc?: SharedAlloc;
}

/** A submission on its way through the stages; each stage adds what it established. */
export interface Candidate {
  readonly submission: Submission;
  /** τ at intake: the server's version minus the base version (staleness stage). */
  staleness?: number;
  /** The decoded delta (decode stage; clipped by the norm guard). */
  delta?: WeightMap;
  /** ‖Δ‖₂ as received (finite stage). */
  norm?: number;
  clipped: boolean;
  /** What the guard's statistics remember for this update: its norm, or the bound it was clipped to. */
  guardNorm?: number;
  /** The bytes the update log will store: the submission's, or a stage's re-encoding. */
  bytes: Uint8Array;
}

/** A submission whose id the server already has: answered with the first outcome, counted once. */
export type Duplicate = { ok: false; duplicate: 'stored' | 'queued' };

export type StageResult = Checked<Candidate> | Duplicate;

export interface IntakeStage {
  readonly name: string;
  check(c: Candidate, view: IntakeView): StageResult;
}

/** An update ready for the update log. */
export interface Accepted {
  update: BufferedUpdate;
  bytes: Uint8Array;
  /** The value to record in the norm guard's statistics for this submitter. */
  guardNorm: number;
}

export type IntakeResult = Checked<Accepted> | Duplicate;

const pass = (value: Candidate): StageResult => ({ ok: true, value });
const refuse = (code: RejectCode, reason: string, extra: { retryAfterMs?: number } = {}): StageResult => ({ ok: false, code, reason, ...extra });

export const dedupe: IntakeStage = {
  name: 'dedupe',
  check: (c, v) => {
    const seen = v.seen(c.submission.updateId);
    return seen ? { ok: false, duplicate: seen } : pass(c);
  },
};

export const shuttingDown: IntakeStage = {
  name: 'shutting-down',
  check: (c, v) => (v.closing ? refuse('busy', 'the server is shutting down; retry later') : pass(c)),
};

/** The token bucket lives in the stage: a flood costs the server a map lookup per message. */
export function rateLimit(limit: Readonly<RateLimitConfig>, now?: () => number): IntakeStage {
  const limiter = createRateLimiter(limit, now);
  return {
    name: 'rate-limit',
    check: (c) => {
      const admitted = limiter.take(c.submission.rateKey);
      if (admitted.ok) return pass(c);
      return refuse('rate_limited', `more than ${limit.perMinute} submissions per minute (burst ${resolveBurst(limit)}); retry in ${Math.ceil(admitted.retryAfterMs / 1000)} s`, { retryAfterMs: admitted.retryAfterMs });
    },
  };
}

export const staleness: IntakeStage = {
  name: 'staleness',
  check: (c, v) => {
    const base = c.submission.baseVersion;
    if (base > v.version) return refuse('unknown_version', `base version ${base} is newer than the server's ${v.version}`);
    const tau = v.version - base;
    if (tau > v.maxStaleness) return refuse('too_stale', `base version ${base} is ${tau} versions old (max ${v.maxStaleness}); pull the latest weights`);
    return pass({ ...c, staleness: tau });
  },
};

export const examples: IntakeStage = {
  name: 'examples',
  check: (c, v) => {
    const n = c.submission.examples;
    if (Number.isInteger(n) && n >= 1 && n <= v.maxExamples) return pass(c);
    return refuse('bad_examples', `examples must be an integer in 1..${v.maxExamples}, got ${n}`);
  },
};

export const backlog: IntakeStage = {
  name: 'backlog',
  check: (c, v) => (v.waiting >= v.maxBuffered ? refuse('busy', `${v.waiting} updates are waiting to be folded; retry later`) : pass(c)),
};

export const decode: IntakeStage = {
  name: 'decode',
  check: (c, v) => {
    const d = decodeDelta(c.bytes, v.specs, v.alloc);
    return d.ok ? pass({ ...c, delta: d.value }) : d;
  },
};

export const finite: IntakeStage = {
  name: 'finite',
  check: (c) => {
    const n = normAndFinite(needs(c.delta, 'finite', 'decode'));
    return n.ok ? pass({ ...c, norm: n.value }) : n;
  },
};

export const normGuard: IntakeStage = {
  name: 'norm-guard',
  check: (c, v) => {
    const norm = needs(c.norm, 'norm-guard', 'finite');
    const decision = decideNorm(norm, v.recentNorms, v.normGuard);
    if (decision.action === 'reject') return refuse('norm_too_large', decision.reason);
    if (decision.action === 'accept') return pass({ ...c, guardNorm: norm });
    const delta = applyNormDecision(needs(c.delta, 'norm-guard', 'decode'), decision);
    return pass({ ...c, delta, clipped: true, guardNorm: decision.bound, bytes: encodeWeights(delta) });
  },
};

/** The server's stages in order (see the header); rate limiting only when configured. */
export function intakeStages(o: { rateLimit: Readonly<RateLimitConfig> | null }): IntakeStage[] {
  return [dedupe, shuttingDown, ...(o.rateLimit ? [rateLimit(o.rateLimit)] : []), staleness, examples, backlog, decode, finite, normGuard];
}

/** Runs the stages in order; the first that stops the submission decides. */
export function runIntake(stages: readonly IntakeStage[], submission: Submission, view: IntakeView, now = Date.now()): IntakeResult {
  let c: Candidate = { submission, clipped: false, bytes: submission.bytes };
  for (const stage of stages) {
    const r = stage.check(c, view);
    if (!r.ok) return r;
    c = r.value;
  }
  const s = submission;
  const delta = needs(c.delta, 'intake', 'decode');
  const norm = needs(c.norm, 'intake', 'finite');
  return {
    ok: true,
    value: {
      update: { updateId: s.updateId, contributorId: s.contributorId, baseVersion: s.baseVersion, examples: s.examples, loss: s.loss, norm, clipped: c.clipped, receivedAt: now, delta },
      bytes: c.bytes,
      guardNorm: c.guardNorm ?? norm,
    },
  };
}

/** A stage that runs before the one establishing a field is a wiring bug, not client input. */
function needs<T>(value: T | undefined, stage: string, after: string): T {
  if (value === undefined) throw new Error(`intake stage '${stage}' must run after '${after}'`);
  return value;
}
