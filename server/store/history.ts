/**
 * Run history: server steps, rejections, evaluations and sessions — the writes the server makes
 * and the queries a dashboard charts. The `updates` table is the update log's (update-log.ts,
 * update-queries.ts); history reaches it only through those. Pure-ish: every function takes the
 * database handle and plain values and returns plain rows.
 */
import type { Db } from './db';
import type { StepSummary } from '../aggregation/fedbuff';
import { markFolded } from './update-log';
import { updateTotals } from './update-queries';

export interface VersionRow {
  version: number;
  createdAt: number;
  numUpdates: number;
  contributors: number;
  examples: number;
  meanLoss: number | null;
  meanNorm: number | null;
  aggregateNorm: number | null;
  meanStaleness: number | null;
  maxStaleness: number | null;
  emaMomentum: number | null;
  durationMs: number | null;
}

export interface RejectionRow {
  at: number;
  contributorId: string | null;
  updateId: string | null;
  baseVersion: number | null;
  serverVersion: number;
  code: string;
  reason: string;
}

/** Inserts the row of one server step and marks its updates applied in the update log (one transaction). */
export function recordStep(db: Db, s: StepSummary): void {
  const insertVersion = db.prepare(`INSERT OR REPLACE INTO versions
    (version, created_at, num_updates, contributors, examples, mean_loss, mean_norm, aggregate_norm, mean_staleness, max_staleness, ema_momentum, duration_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  db.transaction(() => {
    insertVersion.run(s.version, s.at, s.updates.length, s.contributors, s.examples, s.meanLoss, s.meanNorm, s.aggregateNorm, s.meanStaleness, s.maxStaleness, s.emaMomentum, s.durationMs);
    markFolded(db, s.version, s.updates);
  })();
}

export function recordRejection(db: Db, r: RejectionRow): void {
  db.prepare(`INSERT INTO rejections (at, contributor_id, update_id, base_version, server_version, code, reason) VALUES (?, ?, ?, ?, ?, ?, ?)`)
    .run(r.at, r.contributorId, r.updateId, r.baseVersion, r.serverVersion, r.code, r.reason.slice(0, 1000));
}

export function recordEval(db: Db, version: number, metrics: Record<string, number>, at = Date.now()): void {
  const ins = db.prepare('INSERT OR REPLACE INTO evals (version, metric, value, at) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (const [k, v] of Object.entries(metrics)) if (Number.isFinite(v)) ins.run(version, k, v, at);
  })();
}

export function openSession(db: Db, contributorId: string, clientKind: string, backend: string, at = Date.now()): number {
  return Number(db.prepare('INSERT INTO sessions (contributor_id, client_kind, backend, connected_at) VALUES (?, ?, ?, ?)').run(contributorId, clientKind, backend, at).lastInsertRowid);
}

export function closeSession(db: Db, id: number, at = Date.now()): void {
  db.prepare('UPDATE sessions SET disconnected_at = ? WHERE id = ?').run(at, id);
}

const versionCols = `version, created_at AS createdAt, num_updates AS numUpdates, contributors, examples, mean_loss AS meanLoss,
  mean_norm AS meanNorm, aggregate_norm AS aggregateNorm, mean_staleness AS meanStaleness, max_staleness AS maxStaleness,
  ema_momentum AS emaMomentum, duration_ms AS durationMs`;

/** Server steps in ascending version order, `limit` most recent by default (for charts). */
export function versionHistory(db: Db, o: { sinceVersion?: number; limit?: number } = {}): VersionRow[] {
  const rows = db.prepare(`SELECT ${versionCols} FROM versions WHERE version > ? ORDER BY version DESC LIMIT ?`)
    .all(o.sinceVersion ?? -1, o.limit ?? 1000) as VersionRow[];
  return rows.reverse();
}

export function lastVersionRow(db: Db): VersionRow | null {
  return (db.prepare(`SELECT ${versionCols} FROM versions ORDER BY version DESC LIMIT 1`).get() as VersionRow | undefined) ?? null;
}

export function recentRejections(db: Db, limit = 100): RejectionRow[] {
  return db.prepare(`SELECT at, contributor_id AS contributorId, update_id AS updateId, base_version AS baseVersion,
    server_version AS serverVersion, code, reason FROM rejections ORDER BY id DESC LIMIT ?`).all(limit) as RejectionRow[];
}

/** Rejections per code (all time). */
export function rejectionCounts(db: Db): Record<string, number> {
  const rows = db.prepare('SELECT code, COUNT(*) AS n FROM rejections GROUP BY code').all() as Array<{ code: string; n: number }>;
  return Object.fromEntries(rows.map((r) => [r.code, r.n]));
}

export interface EvalRow {
  version: number;
  metric: string;
  value: number;
  at: number;
}

export function evalHistory(db: Db, metric?: string): EvalRow[] {
  return (metric
    ? db.prepare('SELECT version, metric, value, at FROM evals WHERE metric = ? ORDER BY version').all(metric)
    : db.prepare('SELECT version, metric, value, at FROM evals ORDER BY version, metric').all()) as EvalRow[];
}

/** The newest evaluation as { version, metrics } (for /api/status), or null. */
export function latestEval(db: Db): { version: number; at: number; metrics: Record<string, number> } | null {
  const top = db.prepare('SELECT MAX(version) AS v FROM evals').get() as { v: number | null };
  if (top.v === null) return null;
  const rows = db.prepare('SELECT metric, value, at FROM evals WHERE version = ?').all(top.v) as Array<{ metric: string; value: number; at: number }>;
  return { version: top.v, at: Math.max(...rows.map((r) => r.at)), metrics: Object.fromEntries(rows.map((r) => [r.metric, r.value])) };
}

export function totals(db: Db): { accepted: number; applied: number; pending: number; rejected: number; versions: number } {
  const u = updateTotals(db);
  const r = db.prepare('SELECT COUNT(*) AS n FROM rejections').get() as { n: number };
  const v = db.prepare('SELECT COUNT(*) AS n FROM versions').get() as { n: number };
  return { ...u, rejected: r.n, versions: v.n };
}
