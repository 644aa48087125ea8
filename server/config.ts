/**
 * Server configuration: every knob with its default, and validation that turns bad values into
 * one-line errors (the CLI prints them as they are). Plain data: what the server runs WITH
 * (plugins, an evaluator, the dashboard) are start options of server.ts, not settings. The
 * resolved config is frozen: what changes at runtime (the plan) is derived from it elsewhere
 * (core/plan-store.ts), never written back.
 */
import { DEFAULT_EMA, type EmaSchedule } from '../shared/federation/ema';
import type { OptimizerConfig } from '../shared/train/local-round';
import { DEFAULT_SERVER_OPTIMIZER, validateServerOptimizer, type ServerOptimizerConfig } from './aggregation/server-optimizer';
import { DEFAULT_NORM_GUARD, type NormGuardConfig } from './aggregation/validate';
import { planOutOfBounds } from './core/plan-bounds';
import type { RateLimitConfig } from './core/rate-limit';
import { ConfigError } from './errors';

export interface AggregationConfig {
  /** FedBuff's K: accepted deltas per server step. */
  bufferSize: number;
  /** a in the staleness weight s(τ) = (1+τ)^(−a). */
  stalenessExponent: number;
  /** Deltas whose base is more than this many versions old are rejected. */
  maxStaleness: number;
  serverOptimizer: ServerOptimizerConfig;
  /** EMA of the target network after each server step (methods with a target only). */
  ema: EmaSchedule;
  normGuard: NormGuardConfig;
  /** Largest `examples` one update may claim; default 4 × localSteps × batchSize. */
  maxExamples?: number;
  /** Submissions are refused with 'busy' while this many accepted deltas wait (folding behind). */
  maxBuffered?: number;
  /** Fold a non-empty buffer that has not filled after this many ms (0 = never). */
  flushAfterMs: number;
}

export interface ServerConfig {
  /** TCP port; 0 picks a free one. Default 8787. */
  port?: number;
  /** Default 127.0.0.1; use 0.0.0.0 to accept volunteers from other machines. */
  host?: string;
  /** Checkpoints, SQLite history and the admin token live here. Default ./.glimpse */
  dataDir?: string;
  /** SSL method for a new run (shared/ssl/registry.ts). A restarted run keeps its own; a mismatch is an error. */
  method?: string;
  /** createMethod overrides (encoder widths, projector dims, temperature, …). */
  methodConfig?: Record<string, unknown>;
  /** Seeds a new run's initial weights (same seed, same method config → bit-identical version 0). */
  seed?: number;
  /** The contributors' local optimizer. */
  clientOptimizer?: OptimizerConfig;
  localSteps?: number;
  batchSize?: number;
  aggregation?: Partial<AggregationConfig>;
  /** Checkpoints kept on disk. Default 5. */
  keepCheckpoints?: number;
  /** Contributor tokens; empty or absent = open server (anyone may contribute). */
  contributorTokens?: string[];
  /**
   * Per-contributor limit on delta submissions (keyed by contributor token, or by address on an
   * open server); over it, 'rate_limited' with the wait. Absent or false = no limit beyond 'busy'.
   */
  rateLimit?: RateLimitConfig | false;
  /** Bearer token of the admin routes; default: GLIMPSE_ADMIN_TOKEN, else <dataDir>/admin-token, else generated. */
  adminToken?: string;
  /** Allowed `Origin`s of Socket.IO connections (exact match); absent = any origin. */
  allowedOrigins?: string[];
  /** Socket.IO maxHttpBufferSize; default derived from the model's delta size. */
  maxMessageBytes?: number;
  /** A connection that has not sent `session:hello` after this many ms is closed. Default 10 000. */
  helloTimeoutMs?: number;
  /** Connections one address may hold open; default 32 on an open server, unlimited with contributor tokens. `false` = unlimited. */
  maxConnectionsPerAddress?: number | false;
  /** Log sink; default console.log with a timestamp. `false` silences the server. */
  log?: ((line: string) => void) | false;
}

/** Fields of the resolved config (see {@link ResolvedConfig}: the same, frozen). */
export interface ResolvedFields {
  port: number;
  host: string;
  dataDir: string;
  method: string | undefined;
  methodConfig: Record<string, unknown> | undefined;
  seed: number | undefined;
  /** The plan this start begins with; the live plan (admin changes) is core/plan-store.ts's. */
  clientOptimizer: OptimizerConfig;
  localSteps: number;
  batchSize: number;
  /**
   * `maxExamples`: set by the operator, else undefined and derived from the live plan
   * (4 × steps × batch, core/plan-store.ts). `emaExplicit`: the operator set the EMA; otherwise
   * the method's preferred momentum applies.
   */
  aggregation: Omit<AggregationConfig, 'maxExamples'> & { maxExamples: number | undefined; maxBuffered: number; emaExplicit: boolean };
  /** Plan fields the operator set for this start: an admin plan change stored by an earlier start does not override them. */
  planExplicit: { localSteps: boolean; batchSize: boolean; clientOptimizer: boolean };
  keepCheckpoints: number;
  contributorTokens: string[];
  rateLimit: RateLimitConfig | null;
  adminToken: string | undefined;
  allowedOrigins: string[] | undefined;
  maxMessageBytes: number | undefined;
  helloTimeoutMs: number;
  /** null: no cap (a token server, or `false`). */
  maxConnectionsPerAddress: number | null;
  log: (line: string) => void;
}

/** Readonly all the way down (functions stay callable). */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown ? T : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** The validated config of one start. Frozen: nothing may change it after start (derive instead). */
export type ResolvedConfig = DeepReadonly<ResolvedFields>;

export const DEFAULT_AGGREGATION: AggregationConfig = {
  bufferSize: 10,
  stalenessExponent: 0.5,
  maxStaleness: 20,
  serverOptimizer: DEFAULT_SERVER_OPTIMIZER,
  ema: DEFAULT_EMA,
  normGuard: DEFAULT_NORM_GUARD,
  flushAfterMs: 0,
};

/** Defaults filled in, validated (ConfigError), copied and deep-frozen: the caller's objects stay theirs. */
export function resolveConfig(c: ServerConfig): ResolvedConfig {
  const localSteps = c.localSteps ?? 20;
  const batchSize = c.batchSize ?? 32;
  const a = { ...DEFAULT_AGGREGATION, ...(c.aggregation ?? {}) };
  a.normGuard = { ...DEFAULT_NORM_GUARD, ...(c.aggregation?.normGuard ?? {}) };
  a.ema = { ...DEFAULT_EMA, ...(c.aggregation?.ema ?? {}) };
  const r: ResolvedFields = {
    port: c.port ?? 8787,
    host: c.host ?? '127.0.0.1',
    dataDir: c.dataDir ?? './.glimpse',
    method: c.method,
    methodConfig: c.methodConfig === undefined ? undefined : structuredClone(c.methodConfig),
    seed: c.seed,
    clientOptimizer: structuredClone(c.clientOptimizer ?? { kind: 'adam', learningRate: 1e-3 }),
    localSteps,
    batchSize,
    aggregation: { ...structuredClone(a), maxExamples: a.maxExamples, maxBuffered: a.maxBuffered ?? Math.max(4 * a.bufferSize, 64), emaExplicit: c.aggregation?.ema !== undefined },
    planExplicit: { localSteps: c.localSteps !== undefined, batchSize: c.batchSize !== undefined, clientOptimizer: c.clientOptimizer !== undefined },
    keepCheckpoints: c.keepCheckpoints ?? 5,
    contributorTokens: [...(c.contributorTokens ?? [])],
    rateLimit: c.rateLimit ? { ...c.rateLimit } : null,
    adminToken: c.adminToken,
    allowedOrigins: c.allowedOrigins && [...c.allowedOrigins],
    maxMessageBytes: c.maxMessageBytes,
    helloTimeoutMs: c.helloTimeoutMs ?? 10_000,
    maxConnectionsPerAddress: c.maxConnectionsPerAddress === false ? null : (c.maxConnectionsPerAddress ?? ((c.contributorTokens?.length ?? 0) > 0 ? null : 32)),
    log: c.log === false ? () => {} : (c.log ?? ((line) => console.log(`${new Date().toISOString()} ${line}`))),
  };
  validate(r);
  return deepFreeze(r);
}

function deepFreeze<T>(o: T): DeepReadonly<T> {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o as DeepReadonly<T>;
}

function validate(r: ResolvedFields): void {
  const check = (ok: boolean, msg: string) => {
    if (!ok) throw new ConfigError(msg);
  };
  const a = r.aggregation;
  check(Number.isInteger(r.port) && r.port >= 0 && r.port < 65536, `port must be an integer in 0..65535, got ${r.port}`);
  check(r.seed === undefined || (Number.isInteger(r.seed) && r.seed >= 0 && r.seed < 2 ** 32), `seed must be an integer in 0..2^32-1, got ${r.seed}`);
  check(Number.isInteger(r.localSteps) && r.localSteps >= 1, `local steps must be a positive integer, got ${r.localSteps}`);
  check(Number.isInteger(r.batchSize) && r.batchSize >= 1, `batch size must be a positive integer, got ${r.batchSize}`);
  check(Number.isInteger(a.bufferSize) && a.bufferSize >= 1, `buffer size (K) must be a positive integer, got ${a.bufferSize}`);
  const outOfBounds = planOutOfBounds({ learningRate: r.clientOptimizer.learningRate, weightDecay: r.clientOptimizer.weightDecay, localSteps: r.localSteps, batchSize: r.batchSize });
  check(outOfBounds === null, `plan: ${outOfBounds}`);
  check(a.stalenessExponent >= 0 && Number.isFinite(a.stalenessExponent), `staleness exponent must be ≥ 0, got ${a.stalenessExponent}`);
  check(Number.isInteger(a.maxStaleness) && a.maxStaleness >= 0, `max staleness must be an integer ≥ 0, got ${a.maxStaleness}`);
  check(a.ema.base >= 0 && a.ema.base <= 1, `EMA momentum must be in [0, 1], got ${a.ema.base}`);
  check(a.ema.kind !== 'cosine' || (a.ema.rampSteps ?? 0) > 0, 'a cosine EMA schedule needs rampSteps > 0');
  check(a.normGuard.maxNorm > 0 && a.normGuard.medianMultiple > 1 && a.normGuard.window >= 1, 'norm guard: maxNorm > 0, medianMultiple > 1, window ≥ 1');
  check(['clip', 'reject'].includes(a.normGuard.mode), `norm guard mode must be clip or reject, got ${a.normGuard.mode}`);
  check(Number.isInteger(r.keepCheckpoints) && r.keepCheckpoints >= 1, `keep checkpoints must be ≥ 1, got ${r.keepCheckpoints}`);
  check(a.maxBuffered >= a.bufferSize, 'maxBuffered must be ≥ bufferSize');
  check(a.flushAfterMs >= 0, 'flushAfterMs must be ≥ 0');
  check(r.maxMessageBytes === undefined || r.maxMessageBytes >= 1024, 'maxMessageBytes must be ≥ 1024');
  check(Number.isInteger(r.helloTimeoutMs) && r.helloTimeoutMs >= 100 && r.helloTimeoutMs <= 600_000, `hello timeout must be an integer in 100..600000 ms, got ${r.helloTimeoutMs}`);
  const cap = r.maxConnectionsPerAddress;
  check(cap === null || (Number.isInteger(cap) && cap >= 1), `max connections per address must be an integer ≥ 1, got ${cap}`);
  check(r.contributorTokens.every((t) => t.length >= 8), 'contributor tokens must be at least 8 characters');
  const rl = r.rateLimit;
  check(rl === null || (Number.isFinite(rl.perMinute) && rl.perMinute > 0), `rate limit must be a positive number of submissions per minute, got ${rl?.perMinute}`);
  check(rl === null || rl.burst === undefined || (Number.isInteger(rl.burst) && rl.burst >= 1), `rate limit burst must be an integer ≥ 1, got ${rl?.burst}`);
  check(r.adminToken === undefined || r.adminToken.length >= 16, 'the admin token must be at least 16 characters');
  try {
    validateServerOptimizer(a.serverOptimizer);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}
