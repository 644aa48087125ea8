/**
 * The dashboard's part of the run history, in the run's SQLite database next to server/store's
 * tables (created on first use):
 *
 *   admin_actions   every operator action: when, what, on what, by whom (dashboard/api + address), outcome
 *   server_samples  periodic resource and traffic samples: CPU, RSS, heap, event-loop lag, bytes in/out, contributors
 *
 * plus the histograms the dashboard charts (staleness and update norms), read through the update
 * log's queries (server/store/update-queries.ts). Revoked tokens are the store's
 * (server/store/revocations.ts). Every function takes the handle and plain values.
 */
import type { Db } from '../store/db';
import { acceptedNorms } from '../store/update-queries';
import { normBucket, type AdminAction, type Sample } from './protocol';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS admin_actions (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        INTEGER NOT NULL,
  action    TEXT NOT NULL,
  target    TEXT,
  actor     TEXT NOT NULL,
  ok        INTEGER NOT NULL,
  detail    TEXT
);
CREATE TABLE IF NOT EXISTS server_samples (
  at            INTEGER PRIMARY KEY,
  cpu           REAL NOT NULL,
  rss_bytes     INTEGER NOT NULL,
  heap_bytes    INTEGER NOT NULL,
  lag_mean_ms   REAL NOT NULL,
  lag_p99_ms    REAL NOT NULL,
  lag_max_ms    REAL NOT NULL,
  bytes_in      INTEGER NOT NULL,
  bytes_out     INTEGER NOT NULL,
  contributors  INTEGER NOT NULL
);
`;

export function initDashboardTables(db: Db): void {
  db.exec(SCHEMA);
}

export function recordAdminAction(db: Db, a: Omit<AdminAction, 'id'>): AdminAction {
  const r = db.prepare('INSERT INTO admin_actions (at, action, target, actor, ok, detail) VALUES (?, ?, ?, ?, ?, ?)')
    .run(a.at, a.action, a.target, a.actor.slice(0, 200), a.ok ? 1 : 0, a.detail?.slice(0, 1000) ?? null);
  return { id: Number(r.lastInsertRowid), ...a };
}

/** Newest first. */
export function recentAdminActions(db: Db, limit = 100): AdminAction[] {
  const rows = db.prepare('SELECT id, at, action, target, actor, ok, detail FROM admin_actions ORDER BY id DESC LIMIT ?').all(limit) as Array<Omit<AdminAction, 'ok'> & { ok: number }>;
  return rows.map((r) => ({ ...r, ok: !!r.ok }));
}

export function recordSample(db: Db, s: Sample): void {
  db.prepare(`INSERT OR REPLACE INTO server_samples (at, cpu, rss_bytes, heap_bytes, lag_mean_ms, lag_p99_ms, lag_max_ms, bytes_in, bytes_out, contributors)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(s.at, s.cpu, s.rssBytes, s.heapBytes, s.lagMeanMs, s.lagP99Ms, s.lagMaxMs, s.bytesIn, s.bytesOut, s.contributors);
}

/**
 * Retention of resource samples: rows older than `fullResolutionMs` before `now` are thinned to
 * the first sample of each `coarseMs` bucket, so a months-long run stores ~1 row a minute of its
 * past instead of one every few seconds (the charts show the whole run thinned anyway).
 * Returns the number of rows removed.
 */
export function pruneSamples(db: Db, now: number, o: { fullResolutionMs?: number; coarseMs?: number } = {}): number {
  const cutoff = now - (o.fullResolutionMs ?? 24 * 3600_000);
  const coarse = Math.max(1, Math.round(o.coarseMs ?? 60_000));
  return db.prepare(`DELETE FROM server_samples WHERE at < ? AND at NOT IN
    (SELECT MIN(at) FROM server_samples WHERE at < ? GROUP BY at / CAST(? AS INTEGER))`).run(cutoff, cutoff, coarse).changes;
}

/**
 * Samples in time order, at most `max` rows: a long run is thinned to every k-th sample (the
 * newest always kept) so a reload charts the whole run at a bounded size.
 */
export function sampleHistory(db: Db, max = 2000): Sample[] {
  const n = (db.prepare('SELECT COUNT(*) FROM server_samples').pluck().get() as number) ?? 0;
  const k = Math.max(1, Math.ceil(n / max));
  return db.prepare(`SELECT at, cpu, rss_bytes AS rssBytes, heap_bytes AS heapBytes, lag_mean_ms AS lagMeanMs, lag_p99_ms AS lagP99Ms,
    lag_max_ms AS lagMaxMs, bytes_in AS bytesIn, bytes_out AS bytesOut, contributors
    FROM (SELECT *, ROW_NUMBER() OVER (ORDER BY at DESC) - 1 AS back FROM server_samples) WHERE back % ? = 0 ORDER BY at`).all(k) as Sample[];
}

/** Accepted deltas per norm bucket (protocol.ts normBucket): [[bucket, count], …] ascending; zero norms are left out. */
export function normHistogram(db: Db): Array<[number, number]> {
  const counts = new Map<number, number>();
  for (const norm of acceptedNorms(db)) {
    const b = normBucket(norm);
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => a[0] - b[0]);
}
