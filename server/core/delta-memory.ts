/**
 * Shared memory for the deltas the server decodes (intake), reused once a delta is folded and
 * committed. Why: an upload decoded into fresh memory — a fresh SharedArrayBuffer, or fresh
 * ArrayBuffers — costs the event loop its page faults and zeroing, which on this 2-core VM took
 * longer than the decode itself (≈ 3.5 ms vs 0.9 ms per default upload into memory already
 * mapped); and decoding into shared memory is what lets the fold worker read buffered deltas
 * without the event loop copying them when a step starts (fold-transfer.ts).
 *
 * One buffer per delta, kept in a free list by size (uploads of one model packed one way all
 * decode to the same size). A buffer is handed back only by release(), which the coordinator calls
 * for the updates of a committed step — after the fold reply, when nothing reads them any more (the
 * worker's reply copies any state array that lived in them, fold-worker.ts) — and for a batch the
 * update log refused. A delta never released (rejected after decoding, clipped, still buffered at
 * shutdown) is simply left to the garbage collector.
 */
import type { WeightMap } from '../../shared/weights/weight-map';
import type { SharedAlloc } from '../../shared/weights/codec';

/** Free buffers kept for reuse, in bytes (beyond it released buffers go to the garbage collector). */
const MAX_FREE_BYTES = 128 << 20;

export class DeltaMemory {
  private readonly free = new Map<number, SharedArrayBuffer[]>();
  private freeBytes = 0;
  /** Buffers handed out and not released: release() takes only these, once each. */
  private readonly out = new WeakSet<SharedArrayBuffer>();

  /** The allocator to decode with (codec.ts DecodeOptions.shared). */
  readonly alloc: SharedAlloc = (bytes) => {
    let buffer = this.free.get(bytes)?.pop();
    if (buffer) this.freeBytes -= bytes;
    else buffer = new SharedArrayBuffer(bytes);
    this.out.add(buffer);
    return { buffer, offset: 0 };
  };

  /**
   * Hands back the memory of a delta decoded with `alloc`; the caller guarantees nothing reads it
   * any more. Only when every array of the delta lies in that one buffer: a delta derived from a
   * decoded one (the norm guard's clip keeps the positions, fold.ts scaled) may share part of it.
   */
  release(delta: WeightMap): void {
    const first = delta.values().next().value;
    const buffer = first ? (first.nz ?? first.data).buffer : null;
    if (!(buffer instanceof SharedArrayBuffer) || !this.out.has(buffer)) return;
    for (const t of delta.values()) {
      if (t.nz !== undefined && t.values !== undefined ? t.nz.buffer !== buffer || t.values.buffer !== buffer : t.data.buffer !== buffer) return;
    }
    this.out.delete(buffer);
    if (this.freeBytes + buffer.byteLength > MAX_FREE_BYTES) return;
    const list = this.free.get(buffer.byteLength) ?? [];
    list.push(buffer);
    this.free.set(buffer.byteLength, list);
    this.freeBytes += buffer.byteLength;
  }
}
