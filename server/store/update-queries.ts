/**
 * The read side of the update log (update-log.ts): what history, routes and the dashboard ask of
 * the `updates` table. Every function takes the database handle and returns plain rows.
 */
import type { Db } from './db';

export interface UpdateRow {
  updateId: string;
  contributorId: string;
  baseVersion: number;
  examples: number;
  loss: number | null;
  norm: number;
  clipped: boolean;
  receivedAt: number;
  status: 'pending' | 'applied';
  appliedVersion: number | null;
  staleness: number | null;
  weight: number | null;
}

export interface ContributorRow {
  contributorId: string;
  accepted: number;
  applied: number;
  examples: number;
  meanLoss: number | null;
  firstAt: number;
  lastAt: number;
}

const updateCols = `update_id AS updateId, contributor_id AS contributorId, base_version AS baseVersion, examples, loss, norm,
  clipped, received_at AS receivedAt, status, applied_version AS appliedVersion, staleness, weight`;

function toUpdateRow(r: UpdateRow & { clipped: number | boolean }): UpdateRow {
  return { ...r, clipped: !!r.clipped };
}

export function updatesOfVersion(db: Db, version: number): UpdateRow[] {
  return (db.prepare(`SELECT ${updateCols} FROM updates WHERE applied_version = ? ORDER BY received_at`).all(version) as UpdateRow[]).map(toUpdateRow);
}

export function pendingUpdates(db: Db): UpdateRow[] {
  return (db.prepare(`SELECT ${updateCols} FROM updates WHERE status = 'pending' ORDER BY received_at, rowid`).all() as UpdateRow[]).map(toUpdateRow);
}

export function contributorStats(db: Db, limit = 1000): ContributorRow[] {
  return db.prepare(`SELECT contributor_id AS contributorId, COUNT(*) AS accepted, SUM(status = 'applied') AS applied,
    SUM(examples) AS examples, AVG(loss) AS meanLoss, MIN(received_at) AS firstAt, MAX(received_at) AS lastAt
    FROM updates GROUP BY contributor_id ORDER BY lastAt DESC LIMIT ?`).all(limit) as ContributorRow[];
}

/** Accepted updates all time, and how many of them are folded or still pending. */
export function updateTotals(db: Db): { accepted: number; applied: number; pending: number } {
  return db.prepare(`SELECT COUNT(*) AS accepted, COALESCE(SUM(status = 'applied'), 0) AS applied, COALESCE(SUM(status = 'pending'), 0) AS pending FROM updates`).get() as { accepted: number; applied: number; pending: number };
}

/** Folded updates per staleness τ: [[τ, count], …] ascending. */
export function stalenessHistogram(db: Db): Array<[number, number]> {
  return db.prepare('SELECT staleness, COUNT(*) FROM updates WHERE staleness IS NOT NULL GROUP BY staleness ORDER BY staleness').raw().all() as Array<[number, number]>;
}

/** The L2 norm of every accepted update with a non-zero norm, as received. */
export function acceptedNorms(db: Db): Iterable<number> {
  return db.prepare('SELECT norm FROM updates WHERE norm > 0').pluck().iterate() as Iterable<number>;
}

/**
 * The updates folded into versions ≤ `version` (a model card's training facts): how many, from how
 * many contributors, how many examples, first and last receipt, and those contributors by the
 * client kind of their latest session.
 */
export function appliedUpdatesUpTo(db: Db, version: number): {
  updates: number; contributors: number; examples: number; firstUpdateAt: number | null; lastUpdateAt: number | null; clientKinds: Record<string, number>;
} {
  const u = db.prepare(`SELECT COUNT(*) AS updates, COUNT(DISTINCT contributor_id) AS contributors, COALESCE(SUM(examples), 0) AS examples,
    MIN(received_at) AS firstUpdateAt, MAX(received_at) AS lastUpdateAt
    FROM updates WHERE status = 'applied' AND applied_version <= ?`).get(version) as { updates: number; contributors: number; examples: number; firstUpdateAt: number | null; lastUpdateAt: number | null };
  const kinds = db.prepare(`SELECT COALESCE(s.client_kind, 'other') AS kind, COUNT(*) AS n FROM
      (SELECT DISTINCT contributor_id FROM updates WHERE status = 'applied' AND applied_version <= ?) c
      LEFT JOIN sessions s ON s.id = (SELECT id FROM sessions WHERE contributor_id = c.contributor_id ORDER BY connected_at DESC LIMIT 1)
      GROUP BY kind`).all(version) as Array<{ kind: string; n: number }>;
  return { ...u, clientKinds: Object.fromEntries(kinds.map((k) => [k.kind, k.n])) };
}
