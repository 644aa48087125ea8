/**
 * The file-per-delta DeltaStore (delta-store.ts): accepted-but-not-yet-folded deltas, one file
 * each (GLWT bytes as received) in <dataDir>/pending. A file is written and fsynced, then the directory is fsynced once per group,
 * and only then is its SQLite row committed and the update acknowledged. A file without a row is
 * an orphan from a crash before the commit (never acknowledged) and is deleted at recovery.
 *
 * Why files and not SQLite blobs: better-sqlite3 is synchronous, so a multi-megabyte blob insert
 * blocks the event loop while SQLite writes its overflow pages through the WAL; file writes run
 * on libuv's thread pool in parallel and cost one sequential write plus an fsync.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './atomic-file';
import type { DeltaStore } from './delta-store';
import { failpoint } from './failpoints';

const SUFFIX = '.glwt';

export class PendingStore implements DeltaStore {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** A fresh file name (server-chosen: update ids are client input and never touch paths). */
  newRef(): string {
    return `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}${SUFFIX}`;
  }

  /** Writes and fsyncs every file, then fsyncs the directory once. */
  async writeBatch(entries: ReadonlyArray<{ ref: string; bytes: Uint8Array }>): Promise<void> {
    await Promise.all(
      entries.map(async ({ ref, bytes }) => {
        const fh = await open(join(this.dir, ref), 'w', 0o644);
        try {
          let off = 0;
          while (off < bytes.length) off += (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
          await fh.sync();
        } finally {
          await fh.close();
        }
      }),
    );
    failpoint('pending:before-dir-fsync');
    await fsyncDir(this.dir);
  }

  read(ref: string): Promise<Buffer> {
    return readFile(join(this.dir, ref));
  }

  async remove(refs: readonly string[]): Promise<void> {
    await Promise.all(refs.map((n) => rm(join(this.dir, n), { force: true })));
  }

  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => n.endsWith(SUFFIX));
  }
}
