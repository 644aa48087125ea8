/**
 * The plan store: what contributors are told to do each round (local steps, batch size, their
 * optimizer) and the bound on `examples` that follows from it. It starts from the frozen config,
 * applies the admin's plan changes (POST /api/admin/plan) and keeps them in the run database's
 * `meta` table, so a restart keeps the admin's plan — except for fields that start sets itself
 * (config.planExplicit). The config is never written: the live plan is derived here.
 */
import { z } from 'zod';
import type { Compression, UploadCompression } from '../../shared/protocol/compression';
import { PROTOCOL_VERSION, type Plan } from '../../shared/protocol/messages';
import type { OptimizerConfig } from '../../shared/train/local-round';
import type { ResolvedConfig } from '../config';
import type { Db } from '../store/db';
import type { RunInfo } from './run';
import { BoundedOptimizerPlan, boundedBatchSize, boundedLocalSteps } from './plan-bounds';

/**
 * A change to the plan; absent fields keep their value. The one schema for the HTTP body and the
 * stored row; every value within PLAN_BOUNDS (plan-bounds.ts), so a stored row is in range too.
 */
export const PlanChange = z.object({
  localSteps: boundedLocalSteps.optional(),
  batchSize: boundedBatchSize.optional(),
  clientOptimizer: BoundedOptimizerPlan.optional(),
}).strict();
export type PlanChange = z.infer<typeof PlanChange>;

/**
 * The body of POST /api/admin/plan: a {@link PlanChange} spelt as the protocol's Plan spells it
 * (`optimizer`, docs/protocol.md).
 */
export const PlanChangeRequest = PlanChange.omit({ clientOptimizer: true }).extend({ optimizer: BoundedOptimizerPlan.optional() }).strict();

export function planChangeOfRequest(r: z.infer<typeof PlanChangeRequest>): PlanChange {
  const { optimizer, ...rest } = r;
  return optimizer === undefined ? rest : { ...rest, clientOptimizer: optimizer };
}

/** The live round plan. */
export interface RoundPlan {
  localSteps: number;
  batchSize: number;
  clientOptimizer: OptimizerConfig;
  /** Largest `examples` one update may claim: configured, else 4 × localSteps × batchSize. */
  maxExamples: number;
}

/**
 * What contributors are told at hello and on plan changes (shared/protocol/messages.ts Plan): the
 * run, its round plan and the server's limits, at `version`. The single-process server and a
 * cluster node (cluster/ingest-node.ts) both answer with this.
 */
/**
 * plan.compression: what every Glimpse server decodes (server/aggregation/validate.ts: all GLWT
 * dtypes, sparse, either kind of positions), the upload it asks for, and the pulls it answers.
 */
export function compressionPlan(upload: UploadCompression, pulls: Pick<Compression, 'downloads' | 'diffs'>): Compression {
  return { accepts: ['float32', 'float16', 'int8'], sparse: true, positions: ['indices', 'bitmap'], upload, ...pulls };
}

export function contributorPlan(
  run: RunInfo,
  config: ResolvedConfig,
  round: RoundPlan,
  at: { version: number; maxMessageBytes: number; compression?: Plan['compression'] },
): Plan {
  const a = config.aggregation;
  return {
    protocol: PROTOCOL_VERSION, runId: run.runId, method: run.method, methodConfig: run.methodConfig,
    optimizer: round.clientOptimizer, localSteps: round.localSteps, batchSize: round.batchSize, maxExamples: round.maxExamples,
    version: at.version, maxStaleness: a.maxStaleness, maxMessageBytes: at.maxMessageBytes, bufferSize: a.bufferSize, hasTarget: run.momentumPairs.length > 0,
    ...(at.compression ? { compression: at.compression } : {}),
  };
}

const PLAN_OVERRIDES_KEY = 'plan_overrides';

export class PlanStore {
  /** The live plan's difference from the config. */
  private change: PlanChange = {};
  private current: RoundPlan;

  constructor(
    private readonly db: Db,
    private readonly config: ResolvedConfig,
  ) {
    this.current = this.derive();
  }

  get plan(): Readonly<RoundPlan> {
    return this.current;
  }

  /** Re-applies the change stored by an earlier start, except fields set explicitly for this one. */
  restore(): void {
    const stored = this.stored();
    const explicit = this.config.planExplicit;
    const restored = definedFields({
      localSteps: explicit.localSteps ? undefined : stored.localSteps,
      batchSize: explicit.batchSize ? undefined : stored.batchSize,
      clientOptimizer: explicit.clientOptimizer ? undefined : stored.clientOptimizer,
    });
    if (Object.keys(restored).length === 0) return;
    this.change = restored;
    this.current = this.derive();
    this.config.log(`plan restored from an earlier admin change: ${Object.entries(restored).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')}`);
  }

  /** Applies a change on top of the live plan and stores the accumulated change for later starts. */
  update(change: PlanChange): Readonly<RoundPlan> {
    const given = definedFields(change);
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(PLAN_OVERRIDES_KEY, JSON.stringify({ ...this.stored(), ...given }));
    this.change = { ...this.change, ...given };
    this.current = this.derive();
    return this.current;
  }

  private derive(): RoundPlan {
    const c = this.config;
    const localSteps = this.change.localSteps ?? c.localSteps;
    const batchSize = this.change.batchSize ?? c.batchSize;
    // A longer round legitimately reports more examples: the derived bound follows the plan.
    return {
      localSteps,
      batchSize,
      clientOptimizer: this.change.clientOptimizer ?? c.clientOptimizer,
      maxExamples: c.aggregation.maxExamples ?? 4 * localSteps * batchSize,
    };
  }

  /** The stored change; a row that does not parse (hand-edited, an older schema) is ignored. */
  private stored(): PlanChange {
    const raw = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(PLAN_OVERRIDES_KEY) as string | undefined;
    if (raw === undefined) return {};
    let json: unknown = null;
    try {
      json = JSON.parse(raw);
    } catch {
      return {};
    }
    const p = PlanChange.safeParse(json);
    return p.success ? p.data : {};
  }
}

function definedFields(change: PlanChange): PlanChange {
  return Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) as PlanChange;
}
