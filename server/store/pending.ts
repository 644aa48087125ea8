/**
 * Accepted-but-not-yet-folded deltas, one file each (GLWT bytes as received) in
 * <dataDir>/pending. A file is written and fsynced, then the directory is fsynced once per group,
 * and only then is its SQLite row committed and the update acknowledged. A file without a row is
 * an orphan from a crash before the commit (never acknowledged) and is deleted at recovery.
 *
 * Why files and not SQLite blobs: a 2.3 MB blob insert costs ~15–25 ms of blocked event loop here
 * (overflow pages through the WAL), while file writes run on libuv's thread pool in parallel and
 * cost one sequential write plus an fsync.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './atomic-file';
import { failpoint } from './failpoints';

const SUFFIX = '.glwt';

export class PendingStore {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** A fresh file name (server-chosen: update ids are client input and never touch paths). */
  newName(): string {
    return `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}${SUFFIX}`;
  }

  /** Writes and fsyncs every file, then fsyncs the directory once. */
  async writeAll(files: ReadonlyArray<{ name: string; bytes: Uint8Array }>): Promise<void> {
    await Promise.all(
      files.map(async ({ name, bytes }) => {
        const fh = await open(join(this.dir, name), 'w', 0o644);
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

  read(name: string): Promise<Buffer> {
    return readFile(join(this.dir, name));
  }

  async remove(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((n) => rm(join(this.dir, n), { force: true })));
  }

  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => n.endsWith(SUFFIX));
  }
}
