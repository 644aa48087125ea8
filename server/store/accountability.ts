/**
 * Per-contributor accountability in the run database (issue 13): each contributor's running
 * record of robust steps (aggregation/accountability.ts: how often clipped or outvoted, mean
 * cosine to the aggregate, norm ratio) and the operator's quarantine list — contributors whose
 * updates are acknowledged and logged but folded with weight 0. Both survive restarts.
 */
import { flagContributor, updateRecord, type ContributorRecord, type ContributorScore } from '../aggregation/accountability';
import type { Db } from './db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS contributor_records (
  contributor_id TEXT PRIMARY KEY,
  steps INTEGER NOT NULL, clipped INTEGER NOT NULL, outvoted INTEGER NOT NULL,
  cosine REAL NOT NULL, norm_ratio REAL NOT NULL, last_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
  contributor_id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  reason TEXT NOT NULL
);
`;

export function initAccountabilityTables(db: Db): void {
  db.exec(SCHEMA);
}

/** Folds one step's scores into the contributors' records (one transaction). */
export function recordScores(db: Db, version: number, scores: readonly ContributorScore[]): void {
  const get = db.prepare('SELECT steps, clipped, outvoted, cosine, norm_ratio AS normRatio FROM contributor_records WHERE contributor_id = ?');
  const put = db.prepare('INSERT OR REPLACE INTO contributor_records (contributor_id, steps, clipped, outvoted, cosine, norm_ratio, last_version) VALUES (?, ?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const s of scores) {
      const r = updateRecord((get.get(s.contributorId) as ContributorRecord | undefined) ?? null, s);
      put.run(s.contributorId, r.steps, r.clipped, r.outvoted, r.cosine, r.normRatio, version);
    }
  })();
}

export interface AccountabilityRow extends ContributorRecord {
  contributorId: string;
  lastVersion: number;
  /** Why the dashboard flags it, or null. */
  flag: string | null;
  quarantined: boolean;
}

/** Every contributor with a record, flagged ones first, then by last step. */
export function accountability(db: Db, limit = 500): AccountabilityRow[] {
  const q = new Set(quarantinedIds(db));
  const rows = db.prepare(`SELECT contributor_id AS contributorId, steps, clipped, outvoted, cosine, norm_ratio AS normRatio, last_version AS lastVersion
    FROM contributor_records ORDER BY last_version DESC LIMIT ?`).all(limit) as Array<ContributorRecord & { contributorId: string; lastVersion: number }>;
  return rows
    .map((r) => ({ ...r, flag: flagContributor(r), quarantined: q.has(r.contributorId) }))
    .sort((a, b) => Number(b.flag !== null) - Number(a.flag !== null));
}

export function quarantinedIds(db: Db): string[] {
  return db.prepare('SELECT contributor_id FROM quarantine ORDER BY at').pluck().all() as string[];
}

export function quarantineList(db: Db): Array<{ contributorId: string; at: number; reason: string }> {
  return db.prepare('SELECT contributor_id AS contributorId, at, reason FROM quarantine ORDER BY at').all() as Array<{ contributorId: string; at: number; reason: string }>;
}

/** True when it was not quarantined before. */
export function addQuarantine(db: Db, contributorId: string, reason: string, at = Date.now()): boolean {
  return db.prepare('INSERT OR IGNORE INTO quarantine (contributor_id, at, reason) VALUES (?, ?, ?)').run(contributorId, at, reason.slice(0, 500)).changes > 0;
}

/** True when it was quarantined. */
export function removeQuarantine(db: Db, contributorId: string): boolean {
  return db.prepare('DELETE FROM quarantine WHERE contributor_id = ?').run(contributorId).changes > 0;
}
