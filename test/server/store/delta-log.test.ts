/**
 * The append-only delta log (server/store/delta-log.ts): a batch is one write + one fdatasync and
 * reads back byte for byte after a reopen; a torn tail (half a record, a flipped byte) is cut off
 * at restart without losing the records before it; removed deltas free their segment once it is
 * closed; the legacy one-file-per-delta directory is still read through WithLegacyFiles.
 */
import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeltaLog } from '../../../server/store/delta-log';
import { WithLegacyFiles } from '../../../server/store/legacy-deltas';
import { PendingStore } from '../../../server/store/pending';
import { tempDir } from '../helpers';

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 255);
const segments = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.dlog')).sort();

async function opened(dir: string, lines: string[] = [], segmentBytes?: number): Promise<DeltaLog> {
  const log = new DeltaLog(dir, (l) => lines.push(l), segmentBytes);
  await log.init();
  return log;
}

describe('delta log', () => {
  it('writes batches that read back after a reopen, in one segment per start', async () => {
    const tmp = tempDir('glimpse-dlog-');
    try {
      const a = await opened(tmp.dir);
      const batch = [1, 2, 3].map((i) => ({ ref: a.newRef(), bytes: bytesOf(1000 * i + 3, i) }));
      await a.writeBatch(batch);
      await a.writeBatch([{ ref: 'x', bytes: new Uint8Array(0) }]);
      for (const e of batch) expect(Buffer.from(await a.read(e.ref))).toEqual(Buffer.from(e.bytes));
      await a.close();
      const b = await opened(tmp.dir);
      expect((await b.list()).sort()).toEqual([...batch.map((e) => e.ref), 'x'].sort());
      for (const e of batch) expect(Buffer.from(await b.read(e.ref))).toEqual(Buffer.from(e.bytes));
      await b.writeBatch([{ ref: 'y', bytes: bytesOf(10, 9) }]);
      expect(segments(tmp.dir)).toHaveLength(2);
      await expect(b.read('nope')).rejects.toThrow(/not in the log/);
      await b.close();
    } finally {
      tmp.cleanup();
    }
  });

  it('truncates a torn or corrupt tail at restart and keeps every record before it', async () => {
    const tmp = tempDir('glimpse-dlog-');
    try {
      const a = await opened(tmp.dir);
      await a.writeBatch([{ ref: 'keep-1', bytes: bytesOf(5000, 1) }, { ref: 'keep-2', bytes: bytesOf(700, 2) }]);
      await a.writeBatch([{ ref: 'torn', bytes: bytesOf(4000, 3) }]);
      await a.close();
      const seg = join(tmp.dir, segments(tmp.dir)[0]);
      const full = statSync(seg).size;
      truncateSync(seg, full - 1500); // the last record's payload is cut short
      const lines: string[] = [];
      const b = await opened(tmp.dir, lines);
      expect((await b.list()).sort()).toEqual(['keep-1', 'keep-2']);
      expect(lines.join('\n')).toMatch(/partial record .*truncating/);
      expect(statSync(seg).size).toBe(5000 + 700 + 2 * 16 + 'keep-1'.length * 2);
      await b.close();

      // A half-written header, then a record whose payload byte flipped.
      appendFileSync(seg, Buffer.from('GDLR\x05'));
      const c = await opened(tmp.dir, lines);
      expect(await c.list()).toHaveLength(2);
      await c.writeBatch([{ ref: 'later', bytes: bytesOf(300, 4) }]);
      await c.close();
      const seg2 = join(tmp.dir, segments(tmp.dir)[1]);
      const raw = readFileSync(seg2);
      raw[raw.length - 10] ^= 0xff;
      writeFileSync(seg2, raw);
      const d = await opened(tmp.dir, lines);
      expect((await d.list()).sort()).toEqual(['keep-1', 'keep-2']);
      expect(lines.join('\n')).toMatch(/checksum mismatch/);
      expect(Buffer.from(await d.read('keep-2'))).toEqual(Buffer.from(bytesOf(700, 2)));
      await d.close();
    } finally {
      tmp.cleanup();
    }
  });

  it('deletes a closed segment once all its deltas are removed, and rolls over past the segment size', async () => {
    const tmp = tempDir('glimpse-dlog-');
    try {
      const a = await opened(tmp.dir, [], 2048);
      await a.writeBatch([{ ref: 'a', bytes: bytesOf(3000, 1) }]);
      await a.writeBatch([{ ref: 'b', bytes: bytesOf(100, 2) }]); // past 2048: a second segment
      expect(segments(tmp.dir)).toHaveLength(2);
      await a.remove(['a', 'missing']);
      expect(segments(tmp.dir)).toHaveLength(1);
      await a.remove(['b']); // the active segment stays until closed
      expect(segments(tmp.dir)).toHaveLength(1);
      await a.close();
      expect(segments(tmp.dir)).toHaveLength(0);
    } finally {
      tmp.cleanup();
    }
  });

  it('reads and removes the deltas an older server left as files, writes new ones to the log', async () => {
    const tmp = tempDir('glimpse-dlog-');
    try {
      const old = new PendingStore(join(tmp.dir, 'pending'));
      await old.init();
      const oldRef = old.newRef();
      await old.writeBatch([{ ref: oldRef, bytes: bytesOf(64, 5) }]);
      const store = new WithLegacyFiles(new DeltaLog(join(tmp.dir, 'deltas')), old, (r) => r.endsWith('.glwt'));
      await store.init();
      await store.writeBatch([{ ref: 'new', bytes: bytesOf(32, 6) }]);
      expect((await store.list()).sort()).toEqual(['new', oldRef].sort());
      expect(Buffer.from(await store.read(oldRef))).toEqual(Buffer.from(bytesOf(64, 5)));
      expect(Buffer.from(await store.read('new'))).toEqual(Buffer.from(bytesOf(32, 6)));
      await store.remove([oldRef]);
      expect(await store.list()).toEqual(['new']);
      await store.close();
    } finally {
      tmp.cleanup();
    }
  });
});
