/**
 * The fold worker thread (started by fold-thread.ts through fold-worker-boot.mjs): runs the pure
 * fedbuffStep for the coordinator, so the event loop that accepts and acknowledges updates is not
 * blocked for the whole fold (a robust combine of a full buffer takes hundreds of ms), and encodes
 * the step's checkpoint (EncodeRequest), or encodes and writes it (WriteRequest: the coordinator's
 * second worker, the checkpoint writer, does that). It keeps the state (and centre) its last fold produced, so
 * the next request may fold onto it (`onto`) without waiting for the event loop to send it back;
 * a failed fold drops it, and the coordinator then resyncs by sending its last good state. The
 * reply's new state is in shared memory (read by both threads, never mutated).
 */
import { parentPort } from 'node:worker_threads';
import { mulberry32 } from '../../shared/data/rng';
import { cryptoUniform, normalSampler } from '../aggregation/dp-fedavg';
import { fedbuffStep } from '../aggregation/fedbuff';
import { encodeCheckpoint, writeCheckpointSync } from '../store/checkpoint';
import type { GlobalState } from '../aggregation/fedbuff';
import type { WeightMap } from '../../shared/weights/weight-map';
import { buffersOf, sharedMap, unpackMap, unpackState, type EncodeReply, type FoldReply, type FoldRequest, type WorkerRequest, type WriteReply, type WriteRequest } from './fold-transfer';

const port = parentPort;
if (!port) throw new Error('fold-worker.ts runs only as a worker thread');
// DP noise from this thread's own cryptographic source, as the guard's on the main thread.
const normal = normalSampler(cryptoUniform());
/** What the last fold produced (request id, state, centre): the base of a request `onto` it. */
let kept: { id: number; state: GlobalState; center: WeightMap | null } | null = null;

port.on('message', (r: WorkerRequest) => {
  if (r.kind === 'encode') {
    const reply = encode(r.id, () => encodeCheckpoint({ meta: r.meta, state: unpackState(r.state), buffer: [] }));
    port.postMessage(reply, reply.ok ? [reply.encoded.buffer as ArrayBuffer] : []);
  } else if (r.kind === 'write') {
    port.postMessage(write(r));
  } else port.postMessage(fold(r));
});
port.postMessage('ready');

function encode(id: number, f: () => Uint8Array): EncodeReply {
  try {
    // Transferred: it must own its whole buffer (encodeWeights allocates exactly one).
    const bytes = f();
    return { id, ok: true, encoded: bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice() };
  } catch (e) {
    return { id, ok: false, error: (e as Error).message };
  }
}

function write(r: WriteRequest): WriteReply {
  try {
    const bytes = encodeCheckpoint({ meta: r.meta, state: unpackState(r.state), buffer: [] });
    return { id: r.id, ok: true, written: bytes.length, pruneError: writeCheckpointSync(r.dir, r.keep, r.meta.version, bytes) };
  } catch (e) {
    return { id: r.id, ok: false, error: (e as Error).message };
  }
}

function fold(r: FoldRequest): FoldReply {
  let reply: FoldReply;
  try {
    const base = r.state ? { state: unpackState(r.state), center: r.context.center ? unpackMap(r.context.center) : null } : kept?.id === r.onto ? kept : null;
    // Dropped before folding: if this fold fails, no later request may build on what came before it.
    kept = null;
    if (!base) throw new Error(`the fold worker no longer holds the state of fold ${r.onto} (a fold failed or the worker restarted)`);
    const updates = r.updates.map((u) => ({ ...u, delta: unpackMap(u.delta) }));
    const { state, summary, center } = fedbuffStep(base.state, updates, r.specs, r.pairs, r.config, r.now, {
      center: base.center,
      rand: mulberry32(r.context.randSeed),
      normal,
      quarantined: new Set(r.context.quarantined),
      denominator: r.context.denominator,
    });
    // In shared memory: the coordinator reads it, and sends it back without copies when it resyncs.
    const arena = buffersOf(r.updates.map((u) => u.delta));
    const packed = {
      version: state.version, online: sharedMap(state.online, arena), target: sharedMap(state.target, arena),
      optimizer: { step: state.optimizer.step, slots: Object.entries(state.optimizer.slots).map(([k, m]): [string, ReturnType<typeof sharedMap>] => [k, sharedMap(m, arena)]) },
    };
    const packedCenter = center ? sharedMap(center, arena) : null;
    reply = { id: r.id, ok: true, state: packed, summary, center: packedCenter };
    // Kept as replied (shared, out of the request's arena and the updates' memory, which are reused).
    kept = { id: r.id, state: unpackState(packed), center: packedCenter ? unpackMap(packedCenter) : base.center };
  } catch (e) {
    reply = { id: r.id, ok: false, error: (e as Error).message };
  }
  return reply;
}
