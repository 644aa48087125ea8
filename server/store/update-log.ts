/**
 * The update log: the durable record of every accepted update — one row of the `updates` table
 * (who, base version, examples, loss, norm, status 'pending' | 'applied', …) plus its delta's bytes
 * in a DeltaStore (delta-store.ts) until some versions after it was folded. This file and
 * update-queries.ts (its read side) are the only code that touches the `updates` table or the
 * delta store; test/architecture/imports.test.ts checks that.
 *
 * Durable accept of a batch (appendBatch): every delta's bytes are made durable (DeltaStore
 * writeBatch), then one SQLite transaction commits the rows together with whatever else the caller
 * commits with them (the batch's rejections), and the WAL is fdatasynced off the event loop
 * (db.ts WalSync). Only then may the updates be acknowledged. A batch of rejections alone is
 * committed without waiting for the disk: they were answered already, nothing depends on them. `update_id` is the primary key, so a resubmission is a duplicate from then on.
 * Batching itself (which submissions share one appendBatch) is group-commit.ts's job.
 *
 * How deltas are made durable (today the append-only delta log, delta-log.ts, one fdatasync per
 * batch) is the DeltaStore passed to this constructor; nothing here or above depends on it.
 */
import type { BufferedUpdate, FoldedUpdate } from '../aggregation/fedbuff';
import { encodeWeights } from '../../shared/weights/codec';
import type { WeightMap } from '../../shared/weights/weight-map';
import { WalSync, type Db } from './db';
import type { DeltaStore } from './delta-store';
import { failpoint } from './failpoints';

/** An update whose row is about to be written, with the bytes of its delta as they will be stored. */
export interface UpdateToLog {
  update: BufferedUpdate;
  bytes: Uint8Array;
}

/** Outcome of a durable accept: on failure nothing of the batch was committed. */
export type Durability = { ok: true } | { ok: false; code: 'internal' | 'busy'; reason: string };

/** What recovery needs from the newest readable checkpoint. */
export interface RecoveryPoint {
  version: number;
  /** Update ids folded into each of the last versions (checkpoint meta). */
  folded: ReadonlyArray<{ version: number; ids: readonly string[] }>;
  /** The buffer the checkpoint carries (deltas included). */
  buffer: readonly BufferedUpdate[];
}

/** Marks folded updates applied at `version`, with their staleness and weight (one statement per update). */
export function markFolded(db: Db, version: number, updates: readonly Pick<FoldedUpdate, 'updateId' | 'staleness' | 'weight'>[]): void {
  const mark = db.prepare(`UPDATE updates SET status = 'applied', applied_version = ?, staleness = ?, weight = ? WHERE update_id = ?`);
  db.transaction(() => {
    for (const u of updates) mark.run(version, u.staleness, u.weight, u.updateId);
  })();
}

export class UpdateLog {
  private readonly insert;
  private readonly known;
  private readonly wal: WalSync;

  constructor(
    readonly db: Db,
    private readonly deltas: DeltaStore,
    private readonly log: (line: string) => void,
  ) {
    this.insert = db.prepare(`INSERT INTO updates (update_id, contributor_id, base_version, examples, loss, norm, clipped, received_at, status, delta_file)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`);
    this.known = db.prepare('SELECT 1 FROM updates WHERE update_id = ?').pluck();
    this.wal = new WalSync(db);
  }

  /** True once an update with this id is committed (pending or applied). */
  has(updateId: string): boolean {
    return !!this.known.get(updateId);
  }

  /**
   * Durably accepts a batch: the deltas through the DeltaStore, then one transaction with their
   * rows and `alsoCommit` (run inside it). On failure the batch's deltas are removed again and
   * nothing is committed; 'busy' when the database is already closed (shutdown).
   */
  async appendBatch(batch: readonly UpdateToLog[], alsoCommit: () => void = () => {}): Promise<Durability> {
    const refs = batch.map(() => this.deltas.newRef());
    let committed = false;
    try {
      if (batch.length) await this.deltas.writeBatch(batch.map((b, i) => ({ ref: refs[i], bytes: b.bytes })));
      if (!this.db.open) return { ok: false, code: 'busy', reason: 'the server is shutting down; retry later' };
      this.wal.commit(() => {
        alsoCommit();
        batch.forEach(({ update }, i) => this.insertRow(update, refs[i]));
      });
      committed = true;
      failpoint('updatelog:before-wal-sync');
      if (batch.length) await this.wal.sync();
      return { ok: true };
    } catch (e) {
      this.log(`could not persist ${batch.length} update(s): ${(e as Error).message}`);
      // Committed but not durable (the WAL sync failed): the rows go again, or a retry of these
      // ids would be answered 'duplicate' — an ack for an update whose delta is removed below.
      if (committed) this.forget(batch.map((b) => b.update.updateId));
      void this.deltas.remove(refs).catch(() => {});
      return { ok: false, code: 'internal', reason: 'the server could not store the update; retry later' };
    }
  }

  private forget(ids: readonly string[]): void {
    try {
      const del = this.db.prepare('DELETE FROM updates WHERE update_id = ?');
      this.db.transaction(() => {
        for (const id of ids) del.run(id);
      })();
    } catch (e) {
      this.log(`could not remove the rows of an unsynced batch: ${(e as Error).message}`);
    }
  }

  private insertRow(u: BufferedUpdate, ref: string): void {
    this.insert.run(u.updateId, u.contributorId, u.baseVersion, u.examples, u.loss, u.norm, u.clipped ? 1 : 0, u.receivedAt, ref);
  }

  /** Releases the delta store's open files (shutdown; the database is closed by its owner). */
  async close(): Promise<void> {
    await this.wal.close();
    await this.deltas.close?.();
  }

  /** Marks the updates of one server step applied (see {@link markFolded}). */
  markFolded(version: number, updates: readonly Pick<FoldedUpdate, 'updateId' | 'staleness' | 'weight'>[]): void {
    markFolded(this.db, version, updates);
  }

  /**
   * Brings the log in line with the checkpoint recovery starts from and returns the updates still
   * to fold, oldest first:
   *  - updates the checkpoint buffers but the log does not know (a copied checkpoint) are adopted;
   *  - rows the checkpoint says were folded but are still pending (the commit after the checkpoint
   *    write was interrupted) are marked applied;
   *  - rows applied after this checkpoint (a newer one was unreadable) are pending again if their
   *    delta is still kept;
   *  - pending rows whose delta cannot be read (`decode` returns null) are dropped;
   *  - stored deltas that no row names (written, never committed, never acknowledged) are deleted.
   * `alsoCommit` runs inside the reconciling transaction (the checkpoint's own step row).
   */
  async recover(at: RecoveryPoint, decode: (bytes: Uint8Array) => WeightMap | null, alsoCommit: () => void): Promise<BufferedUpdate[]> {
    const db = this.db;
    const adopt = at.buffer.filter((u) => !this.has(u.updateId)).map((u) => ({ u, ref: this.deltas.newRef(), bytes: encodeWeights(u.delta) }));
    if (adopt.length) await this.deltas.writeBatch(adopt.map((a) => ({ ref: a.ref, bytes: a.bytes })));
    db.transaction(() => {
      const mark = db.prepare(`UPDATE updates SET status = 'applied', applied_version = ? WHERE update_id = ? AND status = 'pending'`);
      for (const f of at.folded) for (const id of f.ids) mark.run(f.version, id);
      alsoCommit();
      const later = db.prepare(`UPDATE updates SET status = 'pending', applied_version = NULL WHERE status = 'applied' AND applied_version > ? AND delta_file IS NOT NULL`).run(at.version);
      if (later.changes) this.log(`re-buffering ${later.changes} update(s) folded after checkpoint ${at.version}`);
      for (const { u, ref } of adopt) this.insertRow(u, ref);
    })();
    const rows = db.prepare(`SELECT update_id, contributor_id, base_version, examples, loss, norm, clipped, received_at, delta_file
      FROM updates WHERE status = 'pending' ORDER BY received_at, rowid`).all() as Array<{
      update_id: string; contributor_id: string; base_version: number; examples: number; loss: number | null;
      norm: number; clipped: number; received_at: number; delta_file: string | null;
    }>;
    const pending: BufferedUpdate[] = [];
    for (const r of rows) {
      let delta: WeightMap | null = null;
      try {
        delta = r.delta_file ? decode(await this.deltas.read(r.delta_file)) : null;
      } catch {
        delta = null;
      }
      if (!delta) {
        this.log(`pending update ${r.update_id} has no readable delta; dropping it`);
        db.prepare(`DELETE FROM updates WHERE update_id = ?`).run(r.update_id);
        continue;
      }
      pending.push({
        updateId: r.update_id, contributorId: r.contributor_id, baseVersion: r.base_version, examples: r.examples, loss: r.loss,
        norm: r.norm, clipped: !!r.clipped, receivedAt: r.received_at, delta,
      });
    }
    const referenced = new Set(db.prepare('SELECT delta_file FROM updates WHERE delta_file IS NOT NULL').pluck().all() as string[]);
    await this.deltas.remove((await this.deltas.list()).filter((n) => !referenced.has(n)));
    return pending;
  }

  /** Deletes the deltas of updates folded at or before `upTo` (kept that long for fallback recovery). */
  async pruneFolded(upTo: number): Promise<void> {
    const rows = this.db.prepare(`SELECT update_id, delta_file FROM updates WHERE status = 'applied' AND applied_version <= ? AND delta_file IS NOT NULL`).all(upTo) as Array<{ update_id: string; delta_file: string }>;
    if (!rows.length) return;
    const clear = this.db.prepare('UPDATE updates SET delta_file = NULL WHERE update_id = ?');
    this.db.transaction(() => {
      for (const r of rows) clear.run(r.update_id);
    })();
    await this.deltas.remove(rows.map((r) => r.delta_file));
  }
}
