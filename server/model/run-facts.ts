/**
 * Facts about how an encoder version was trained, read from the run's SQLite history (the live
 * server's handle or a read-only one opened by `glimpse export`): who contributed, how many
 * updates and examples went into it, the evaluations up to it.
 */
import type { Db } from '../store/db';
import { appliedUpdatesUpTo } from '../store/update-queries';
import type { Evaluation } from './eval-summary';

export interface TrainingFacts {
  /** Distinct contributors with at least one update folded into versions ≤ the given one. */
  contributors: number;
  /** Updates folded into versions ≤ the given one. */
  updates: number;
  /** Training examples behind those updates (sum of the clients' counts). */
  examples: number;
  firstUpdateAt: number | null;
  lastUpdateAt: number | null;
  /** Those contributors by client kind ('node', 'extension', 'browser', 'other'). */
  clientKinds: Record<string, number>;
}

export function trainingFacts(db: Db, version: number): TrainingFacts {
  return appliedUpdatesUpTo(db, version);
}

/**
 * Every evaluation of versions ≤ `version`, oldest first, as { version, at, metrics }. `split`
 * (what the scores were measured on) is attached to all of them when the evaluator reported one
 * (the server's evaluator knows it; the `evals` table does not store it).
 */
export function evaluationsUpTo(db: Db, version: number, split?: Record<string, unknown>): Evaluation[] {
  const rows = db.prepare('SELECT version, metric, value, at FROM evals WHERE version <= ? ORDER BY version, metric').all(version) as Array<{ version: number; metric: string; value: number; at: number }>;
  const byVersion = new Map<number, Evaluation>();
  for (const r of rows) {
    const e = byVersion.get(r.version) ?? { version: r.version, at: r.at, metrics: {}, ...(split ? { split } : {}) };
    e.metrics[r.metric] = r.value;
    e.at = Math.max(e.at, r.at);
    byVersion.set(r.version, e);
  }
  return [...byVersion.values()];
}

/** The evaluator's split (/api/status `eval.split`) as an object, or undefined when it gave none. */
export function evalSplitOf(split: unknown): Record<string, unknown> | undefined {
  return split && typeof split === 'object' && !Array.isArray(split) ? (split as Record<string, unknown>) : undefined;
}
