/**
 * What crosses the thread boundary between the coordinator and the fold worker (fold-thread.ts,
 * fold-worker.ts), and how weight maps cross it. Pure functions, no I/O.
 *
 * Why not post a WeightMap as it is: a sparse tensor's dense `data` is an enumerable getter, so a
 * structured clone would build and copy the dense form of every update (10× the kept values);
 * and a typed array that is a view into a larger buffer (a decoded upload) would clone the whole
 * buffer. Packed tensors carry only what they hold, copied out of shared buffers.
 */
import { sparseTensor, type WeightMap, type WeightTensor } from '../../shared/weights/weight-map';
import type { BufferedUpdate, FedBuffConfig, GlobalState, StepSummary } from '../aggregation/fedbuff';
import type { MomentumPair } from '../../shared/ssl/method';
import type { WeightSpec } from '../../shared/weights/weight-map';
import type { CheckpointMeta } from '../store/checkpoint';

export type PackedTensor = { shape: number[]; data: Float32Array } | { shape: number[]; nz: Uint32Array; values: Float32Array };
export type PackedMap = Array<[string, PackedTensor]>;

export interface PackedState {
  version: number;
  online: PackedMap;
  target: PackedMap;
  optimizer: { step: number; slots: Array<[string, PackedMap]> };
}

/** One fold request: fedbuffStep's arguments with functions replaced by what rebuilds them. */
export interface FoldRequest {
  kind: 'fold';
  id: number;
  state: PackedState;
  updates: Array<Omit<BufferedUpdate, 'delta'> & { delta: PackedMap }>;
  specs: WeightSpec[];
  pairs: MomentumPair[];
  config: Omit<FedBuffConfig, 'ema'> & { ema: FedBuffConfig['ema'] };
  now: number;
  /** StepContext without its functions: bucketing's seed; DP noise comes from the worker's own crypto source. */
  context: { center: PackedMap | null; randSeed: number; quarantined: string[]; denominator?: number };
}

/**
 * Encode a step's checkpoint (store/checkpoint.ts encodeCheckpoint, no buffer): the copy and the
 * CRC-32 of a whole state run in the worker, not on the event loop; the bytes come back
 * transferred (no copy) and the event loop writes them (async I/O: the disk syncs overlap the
 * worker's next fold, which an async write in the worker, blocked by that fold, would not).
 */
export interface EncodeRequest {
  kind: 'encode';
  id: number;
  meta: CheckpointMeta;
  state: PackedState;
}

export type WorkerRequest = FoldRequest | EncodeRequest;

export type FoldReply =
  | { id: number; ok: true; state: PackedState; summary: StepSummary; center: PackedMap | null }
  | { id: number; ok: false; error: string };

/** The encoded checkpoint, or why it failed. */
export type EncodeReply = { id: number; ok: true; encoded: Uint8Array } | { id: number; ok: false; error: string };

export type WorkerReply = FoldReply | EncodeReply;

/** A typed array that owns its whole buffer (copied when it is a view into a larger one). */
function owned<T extends Float32Array | Uint32Array>(a: T): T {
  return a.buffer instanceof SharedArrayBuffer || (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) ? a : (a.slice() as T);
}

export function packTensor(t: WeightTensor): PackedTensor {
  if (t.nz !== undefined && t.values !== undefined) return { shape: t.shape, nz: owned(t.nz), values: owned(t.values) };
  return { shape: t.shape, data: owned(t.data) };
}

/**
 * `a` in shared memory: shared arrays cross threads without a copy (never mutated, like all
 * weights). Arrays in `reused` memory (the request's arena) are copied: the arena is overwritten.
 */
function shared<T extends Float32Array | Uint32Array>(a: T, reused: ReadonlySet<ArrayBufferLike>): T {
  if (a.buffer instanceof SharedArrayBuffer && !reused.has(a.buffer)) return a;
  const out = new (a.constructor as { new (b: SharedArrayBuffer): T })(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/** A map whose arrays live in shared memory (what the worker replies with; the state is sent back as is next step). */
export function sharedMap(map: WeightMap, reused: ReadonlySet<ArrayBufferLike>): PackedMap {
  return [...map].map(([name, t]) => [name, t.nz !== undefined && t.values !== undefined ? { shape: t.shape, nz: shared(t.nz, reused), values: shared(t.values, reused) } : { shape: t.shape, data: shared(t.data, reused) }]);
}

/** The buffers under packed maps (the request's arena, to keep out of a reply). */
export function buffersOf(maps: readonly PackedMap[]): Set<ArrayBufferLike> {
  const out = new Set<ArrayBufferLike>();
  for (const m of maps) for (const [, t] of m) for (const a of 'nz' in t ? [t.nz, t.values] : [t.data]) out.add(a.buffer);
  return out;
}

/**
 * A reusable shared arena for the updates of one fold: their kept values are copied into it
 * (a memcpy into memory already mapped) instead of being cloned into fresh memory per message,
 * which is slow on this VM. Valid until the next fold; the worker keeps nothing of it.
 * Arrays already in shared memory (uploads as the server decodes them, aggregation/validate.ts)
 * are not copied: they cross as they are, and the event loop spends no time on them when a step
 * starts (copying a full buffer here was one block of ~100 ms on a busy 2-core box, and every ack
 * waited behind it).
 */
export class SharedArena {
  private buf = new SharedArrayBuffer(0);
  private used = 0;

  /** Starts a fold's packing with room for `bytes`. */
  reset(bytes: number): void {
    if (this.buf.byteLength < bytes) this.buf = new SharedArrayBuffer(Math.ceil(bytes * 1.25));
    this.used = 0;
  }

  copy<T extends Float32Array | Uint32Array>(a: T): T {
    if (a.buffer instanceof SharedArrayBuffer) return a;
    const out = new (a.constructor as { new (b: SharedArrayBuffer, o: number, n: number): T })(this.buf, this.used, a.length);
    out.set(a);
    this.used += a.byteLength;
    return out;
  }
}

/** Bytes an update's tensors take in a {@link SharedArena} (none for those already shared). */
export function arenaBytes(map: WeightMap): number {
  const bytes = (a: Float32Array | Uint32Array) => (a.buffer instanceof SharedArrayBuffer ? 0 : a.byteLength);
  let n = 0;
  for (const t of map.values()) n += t.nz !== undefined && t.values !== undefined ? bytes(t.nz) + bytes(t.values) : bytes(t.data);
  return n;
}

export function packInto(arena: SharedArena, map: WeightMap): PackedMap {
  return [...map].map(([name, t]) => [name, t.nz !== undefined && t.values !== undefined ? { shape: t.shape, nz: arena.copy(t.nz), values: arena.copy(t.values) } : { shape: t.shape, data: arena.copy(t.data) }]);
}

export function packMap(map: WeightMap): PackedMap {
  return [...map].map(([name, t]) => [name, packTensor(t)]);
}

export function unpackMap(packed: PackedMap): WeightMap {
  return new Map(packed.map(([name, t]) => [name, 'nz' in t ? sparseTensor(t.shape, t.nz, t.values) : { shape: t.shape, data: t.data }]));
}

export function packState(s: GlobalState): PackedState {
  return {
    version: s.version,
    online: packMap(s.online),
    target: packMap(s.target),
    optimizer: { step: s.optimizer.step, slots: Object.entries(s.optimizer.slots).map(([k, m]) => [k, packMap(m)]) },
  };
}

export function unpackState(p: PackedState): GlobalState {
  return {
    version: p.version,
    online: unpackMap(p.online),
    target: unpackMap(p.target),
    optimizer: { step: p.optimizer.step, slots: Object.fromEntries(p.optimizer.slots.map(([k, m]) => [k, unpackMap(m)])) },
  };
}
