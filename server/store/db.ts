/**
 * The run's SQLite database (better-sqlite3) in the data directory: run history for the dashboard
 * *and* the durable index of accepted-but-not-yet-folded deltas (their bytes live in files, see
 * pending.ts). An update is acknowledged as accepted only after its row is committed; WAL +
 * synchronous=FULL makes the commit durable (the update log's commits are synced off the event
 * loop instead: {@link WalSync}).
 *
 * Tables (all times are epoch milliseconds):
 *   updates     one row per accepted update: who, base version, examples, loss, norm, staleness and
 *               weight at fold, status 'pending' | 'applied', applied_version, delta_file (the
 *               record of the delta log, deltas/; nulled and deleted some versions after it was folded)
 *   versions    one row per server step: folded updates, contributors, examples, mean loss,
 *               norms, staleness, EMA momentum, duration
 *   rejections  one row per rejected submission with its code and reason
 *   evals       evaluator results per version and metric (e.g. knn_top1)
 *   sessions    connections: contributor, client kind, backend, connected/disconnected
 *   revoked_tokens  SHA-256 fingerprints of revoked contributor tokens (revocations.ts)
 *   meta        key/value: schema version, the admin's plan overrides (core/plan-store.ts)
 *
 * The `updates` table is the update log's: only update-log.ts and update-queries.ts touch it.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { open, type FileHandle } from 'node:fs/promises';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS updates (
  update_id       TEXT PRIMARY KEY,
  contributor_id  TEXT NOT NULL,
  base_version    INTEGER NOT NULL,
  examples        INTEGER NOT NULL,
  loss            REAL,
  norm            REAL NOT NULL,
  clipped         INTEGER NOT NULL DEFAULT 0,
  received_at     INTEGER NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'applied')),
  applied_version INTEGER,
  staleness       INTEGER,
  weight          REAL,
  delta_file      TEXT
);
CREATE INDEX IF NOT EXISTS updates_status ON updates (status, received_at);
CREATE INDEX IF NOT EXISTS updates_applied ON updates (applied_version);
CREATE INDEX IF NOT EXISTS updates_contributor ON updates (contributor_id);
CREATE TABLE IF NOT EXISTS versions (
  version         INTEGER PRIMARY KEY,
  created_at      INTEGER NOT NULL,
  num_updates     INTEGER NOT NULL,
  contributors    INTEGER NOT NULL,
  examples        INTEGER NOT NULL,
  mean_loss       REAL,
  mean_norm       REAL,
  aggregate_norm  REAL,
  mean_staleness  REAL,
  max_staleness   INTEGER,
  ema_momentum    REAL,
  duration_ms     REAL
);
CREATE TABLE IF NOT EXISTS rejections (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  at              INTEGER NOT NULL,
  contributor_id  TEXT,
  update_id       TEXT,
  base_version    INTEGER,
  server_version  INTEGER NOT NULL,
  code            TEXT NOT NULL,
  reason          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rejections_at ON rejections (at);
CREATE TABLE IF NOT EXISTS evals (
  version   INTEGER NOT NULL,
  metric    TEXT NOT NULL,
  value     REAL NOT NULL,
  at        INTEGER NOT NULL,
  PRIMARY KEY (version, metric)
);
CREATE TABLE IF NOT EXISTS revoked_tokens (
  fingerprint TEXT PRIMARY KEY,
  at          INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  contributor_id   TEXT NOT NULL,
  client_kind      TEXT,
  backend          TEXT,
  connected_at     INTEGER NOT NULL,
  disconnected_at  INTEGER
);
`;

export function openDatabase(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // FULL: a committed transaction survives power loss, not only a process crash.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('schema_version') as { value: string } | undefined;
  if (!row) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
  else if (Number(row.value) !== SCHEMA_VERSION) throw new Error(`database schema ${row.value} is not ${SCHEMA_VERSION}`);
  return db;
}

/**
 * Makes commits durable off the event loop. better-sqlite3 runs a commit on the calling thread, so
 * with synchronous=FULL every commit blocks the event loop for an fsync of the WAL (≈ 4 ms here,
 * far more on a busy disk) — the update log commits several times per second, and every ack
 * queued behind it waited. `commit(fn)` runs the transaction at synchronous=NORMAL (the frames
 * are written to the WAL, not synced; in WAL mode that is still crash-consistent, it only may lose
 * the latest commits) and `sync()` then fdatasyncs the WAL file from libuv's thread pool. After
 * `sync()` resolves the commit is as durable as a FULL one: its frames were written before it.
 * The WAL file is never replaced while the connection is open (a checkpoint rewrites it from the
 * start, in place), so one handle stays valid until close().
 */
export class WalSync {
  private fh: Promise<FileHandle> | null = null;

  constructor(private readonly db: Db) {}

  /** Runs `fn` in one transaction that is written to the WAL but not yet synced. */
  commit(fn: () => void): void {
    this.db.pragma('synchronous = NORMAL');
    try {
      this.db.transaction(fn)();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /** Resolves once every commit made so far is on disk. */
  async sync(): Promise<void> {
    if (this.db.memory) return;
    this.fh ??= open(`${this.db.name}-wal`, 'r');
    try {
      await (await this.fh).datasync();
    } catch (e) {
      this.fh = null;
      throw e;
    }
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await (await fh?.catch(() => null))?.close();
  }
}

export type { Db };
