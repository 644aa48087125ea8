/**
 * The append-only delta log: a DeltaStore (delta-store.ts) that writes a whole batch of deltas
 * with one positional write and ONE fdatasync, instead of one file and one fsync per delta
 * (pending.ts). With the group commit above it (group-commit.ts) concurrent submissions share
 * that fsync, so the number of fsyncs per second no longer bounds accepted updates per second —
 * the classic write-ahead-log group commit (Gray & Reuter, "Transaction Processing", 1992;
 * DeWitt et al. 1984, "Implementation techniques for main memory database systems").
 *
 * Files: <dir>/<seq>.dlog segments (seq = 8 hex digits). Each is a sequence of records:
 *
 *   offset  size  field
 *   0       4     magic "GDLR"
 *   4       2     ref length R (bytes, ASCII)
 *   6       2     reserved (0)
 *   8       4     payload length P
 *   12      4     CRC-32 of ref bytes + payload
 *   16      R     ref
 *   16+R    P     payload (the GLWT bytes as received)
 *
 * A crash can leave a torn tail: a record whose header, ref or payload is incomplete or whose CRC
 * does not match. Such a record was never acknowledged (acks follow the fdatasync), so opening
 * the log truncates the segment at the first bad record. Each process start appends to a fresh
 * segment; a segment rolls over past SEGMENT_BYTES. A new segment's directory entry is fsynced
 * before the first batch in it is reported durable.
 *
 * Removal is in memory: a removed ref is dropped from the index, and a closed segment with no live
 * ref left is deleted. After a restart removed refs reappear in list() — recovery deletes those no
 * row names (update-log.ts), which frees their segments again.
 */
import { crc32 } from 'node:zlib';
import { mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDir } from './atomic-file';
import type { DeltaStore } from './delta-store';
import { failpoint, failpointDrawn } from './failpoints';

const MAGIC = 0x524c4447; // "GDLR" read little-endian
const HEADER = 16;
const SUFFIX = '.dlog';
/** Past this size the next batch starts a new segment, so removed deltas can free disk space. */
export const SEGMENT_BYTES = 256 * 1024 * 1024;

interface Location {
  seg: number;
  offset: number;
  length: number;
}

interface Segment {
  seq: number;
  live: number;
}

const segName = (seq: number) => `${seq.toString(16).padStart(8, '0')}${SUFFIX}`;

/** One record's header, for `ref` and `payload`. */
export function recordHeader(ref: Uint8Array, payload: Uint8Array): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt32LE(MAGIC, 0);
  h.writeUInt16LE(ref.length, 4);
  h.writeUInt32LE(payload.length, 8);
  h.writeUInt32LE(crc32(payload, crc32(ref)), 12);
  return h;
}

export class DeltaLog implements DeltaStore {
  private readonly index = new Map<string, Location>();
  private readonly segments = new Map<number, Segment>();
  private active: { seq: number; fh: FileHandle; size: number } | null = null;
  private nextSeq = 1;
  /** Serializes writes and segment changes (group commit already runs one batch at a time; recovery may not). */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly log: (line: string) => void = () => {},
    private readonly segmentBytes = SEGMENT_BYTES,
  ) {}

  /** Scans every segment, truncating a torn tail, and rebuilds the index. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const names = (await readdir(this.dir)).filter((n) => /^[0-9a-f]{8}\.dlog$/.test(n)).sort();
    for (const name of names) {
      const seq = parseInt(name, 16);
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      const live = await this.scan(seq);
      this.segments.set(seq, { seq, live });
      if (live === 0) await this.dropSegment(seq);
    }
  }

  newRef(): string {
    return `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`;
  }

  writeBatch(entries: ReadonlyArray<{ ref: string; bytes: Uint8Array }>): Promise<void> {
    return this.serial(() => this.append(entries));
  }

  async read(ref: string): Promise<Uint8Array> {
    const at = this.index.get(ref);
    if (!at) throw new Error(`delta ${ref} is not in the log`);
    const fh = await open(join(this.dir, segName(at.seg)), 'r');
    try {
      const out = Buffer.allocUnsafeSlow(at.length);
      let off = 0;
      while (off < at.length) {
        const { bytesRead } = await fh.read(out, off, at.length - off, at.offset + off);
        if (bytesRead === 0) throw new Error(`delta ${ref} is cut short in its segment`);
        off += bytesRead;
      }
      return out;
    } finally {
      await fh.close();
    }
  }

  remove(refs: readonly string[]): Promise<void> {
    return this.serial(async () => {
      for (const ref of refs) {
        const at = this.index.get(ref);
        if (!at) continue;
        this.index.delete(ref);
        const s = this.segments.get(at.seg);
        if (s && --s.live === 0 && at.seg !== this.active?.seq) await this.dropSegment(at.seg);
      }
    });
  }

  async list(): Promise<string[]> {
    return [...this.index.keys()];
  }

  /** Closes the active segment (tests and shutdown; writing again opens a new one). */
  close(): Promise<void> {
    return this.serial(async () => {
      const a = this.active;
      this.active = null;
      if (!a) return;
      await a.fh.close();
      if (this.segments.get(a.seq)?.live === 0) await this.dropSegment(a.seq);
    });
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.lock.then(f, f);
    this.lock = next.catch(() => {});
    return next;
  }

  private async append(entries: ReadonlyArray<{ ref: string; bytes: Uint8Array }>): Promise<void> {
    if (!entries.length) return;
    let a = this.active;
    if (!a || a.size >= this.segmentBytes) a = await this.rollOver();
    const buffers: Uint8Array[] = [];
    const placed: Array<[string, Location]> = [];
    let pos = a.size;
    for (const { ref, bytes } of entries) {
      const r = Buffer.from(ref, 'ascii');
      buffers.push(recordHeader(r, bytes), r, bytes);
      placed.push([ref, { seg: a.seq, offset: pos + HEADER + r.length, length: bytes.length }]);
      pos += HEADER + r.length + bytes.length;
    }
    try {
      await this.writeAt(a, buffers, pos - a.size);
    } catch (e) {
      // After a failed write or fdatasync the kernel may have dropped the dirty pages ("fsyncgate",
      // Rebello et al. 2020, "Can Applications Recover from fsync Failures?"): never append to this
      // segment again. Its tail is garbage a restart truncates; the next batch opens a new segment.
      if (this.active === a) this.active = null;
      void a.fh.close().catch(() => {});
      throw e;
    }
    a.size = pos;
    const seg = this.segments.get(a.seq)!;
    for (const [ref, loc] of placed) this.index.set(ref, loc);
    seg.live += placed.length;
  }

  /** Writes `total` bytes of `buffers` at the end of segment `a` and makes them durable. */
  private async writeAt(a: { fh: FileHandle; size: number }, buffers: Uint8Array[], total: number): Promise<void> {
    let done = 0;
    if (failpointDrawn('deltalog:torn-write')) {
      // Crash test: leave half the batch on disk, as a crash in the middle of the write would.
      await a.fh.writev(sliceTo(buffers, Math.floor(total / 2)), a.size);
      await a.fh.datasync();
      process.kill(process.pid, 'SIGKILL');
    }
    while (done < total) {
      // writev may write less than asked: continue from where it stopped.
      const { bytesWritten } = await a.fh.writev(sliceFrom(buffers, done), a.size + done);
      done += bytesWritten;
    }
    failpoint('deltalog:before-fsync');
    await a.fh.datasync();
  }

  private async rollOver(): Promise<{ seq: number; fh: FileHandle; size: number }> {
    const old = this.active;
    if (old) {
      await old.fh.close();
      if (this.segments.get(old.seq)?.live === 0) await this.dropSegment(old.seq);
    }
    const seq = this.nextSeq++;
    const fh = await open(join(this.dir, segName(seq)), 'wx', 0o644);
    try {
      await fsyncDir(this.dir);
    } catch (e) {
      await fh.close();
      throw e;
    }
    this.segments.set(seq, { seq, live: 0 });
    this.active = { seq, fh, size: 0 };
    return this.active;
  }

  private async dropSegment(seq: number): Promise<void> {
    this.segments.delete(seq);
    await rm(join(this.dir, segName(seq)), { force: true });
  }

  /** Indexes one segment's records; truncates it at the first torn or corrupt one. Returns the record count. */
  private async scan(seq: number): Promise<number> {
    const path = join(this.dir, segName(seq));
    const fh = await open(path, 'r+');
    let count = 0;
    try {
      const { size } = await fh.stat();
      const head = Buffer.alloc(HEADER);
      let pos = 0;
      let bad: string | null = null;
      while (pos < size) {
        if (size - pos < HEADER) { bad = 'a partial record header'; break; }
        await readFully(fh, head, pos);
        const refLen = head.readUInt16LE(4);
        const len = head.readUInt32LE(8);
        if (head.readUInt32LE(0) !== MAGIC) { bad = 'a bad record magic'; break; }
        if (pos + HEADER + refLen + len > size) { bad = 'a partial record'; break; }
        const body = Buffer.allocUnsafeSlow(refLen + len);
        await readFully(fh, body, pos + HEADER);
        if (crc32(body) !== head.readUInt32LE(12)) { bad = 'a record checksum mismatch'; break; }
        const ref = body.subarray(0, refLen).toString('ascii');
        count++;
        this.index.set(ref, { seg: seq, offset: pos + HEADER + refLen, length: len });
        pos += HEADER + refLen + len;
      }
      if (bad) {
        this.log(`delta log ${segName(seq)}: ${bad} at byte ${pos} of ${size}; truncating the unacknowledged tail`);
        await fh.truncate(pos);
        await fh.sync();
      }
    } finally {
      await fh.close();
    }
    return count;
  }
}

async function readFully(fh: FileHandle, into: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < into.length) {
    const { bytesRead } = await fh.read(into, off, into.length - off, position + off);
    if (bytesRead === 0) throw new Error('unexpected end of segment');
    off += bytesRead;
  }
}

/** The first `n` bytes of the buffers' concatenation. */
function sliceTo(buffers: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of buffers) {
    if (n <= 0) break;
    out.push(b.subarray(0, Math.min(n, b.length)));
    n -= b.length;
  }
  return out;
}

/** The buffers from byte `skip` of their concatenation on. */
function sliceFrom(buffers: Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of buffers) {
    if (skip >= b.length) { skip -= b.length; continue; }
    out.push(skip ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}
