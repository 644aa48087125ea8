/**
 * The fold worker thread (started by fold-thread.ts through fold-worker-boot.mjs): runs the pure
 * fedbuffStep for the coordinator, so the event loop that accepts and acknowledges updates is not
 * blocked for the whole fold (a robust combine of a full buffer takes hundreds of ms), and encodes
 * the step's checkpoint (EncodeRequest). Stateless:
 * every request carries the state it folds into (in shared memory after the first step, so no copy);
 * the reply's new state is in shared memory too.
 */
import { parentPort } from 'node:worker_threads';
import { mulberry32 } from '../../shared/data/rng';
import { cryptoUniform, normalSampler } from '../aggregation/dp-fedavg';
import { fedbuffStep } from '../aggregation/fedbuff';
import { encodeCheckpoint } from '../store/checkpoint';
import { buffersOf, sharedMap, unpackMap, unpackState, type EncodeReply, type FoldReply, type FoldRequest, type WorkerRequest } from './fold-transfer';

const port = parentPort;
if (!port) throw new Error('fold-worker.ts runs only as a worker thread');
// DP noise from this thread's own cryptographic source, as the guard's on the main thread.
const normal = normalSampler(cryptoUniform());

port.on('message', (r: WorkerRequest) => {
  if (r.kind === 'encode') {
    const reply = encode(r.id, () => encodeCheckpoint({ meta: r.meta, state: unpackState(r.state), buffer: [] }));
    port.postMessage(reply, reply.ok ? [reply.encoded.buffer as ArrayBuffer] : []);
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

function fold(r: FoldRequest): FoldReply {
  let reply: FoldReply;
  try {
    const updates = r.updates.map((u) => ({ ...u, delta: unpackMap(u.delta) }));
    const { state, summary, center } = fedbuffStep(unpackState(r.state), updates, r.specs, r.pairs, r.config, r.now, {
      center: r.context.center ? unpackMap(r.context.center) : null,
      rand: mulberry32(r.context.randSeed),
      normal,
      quarantined: new Set(r.context.quarantined),
      denominator: r.context.denominator,
    });
    // In shared memory: the coordinator reads it and sends it back next step without copies.
    const arena = buffersOf(r.updates.map((u) => u.delta));
    const packed = {
      version: state.version, online: sharedMap(state.online, arena), target: sharedMap(state.target, arena),
      optimizer: { step: state.optimizer.step, slots: Object.entries(state.optimizer.slots).map(([k, m]): [string, ReturnType<typeof sharedMap>] => [k, sharedMap(m, arena)]) },
    };
    reply = { id: r.id, ok: true, state: packed, summary, center: center ? sharedMap(center, arena) : null };
  } catch (e) {
    reply = { id: r.id, ok: false, error: (e as Error).message };
  }
  return reply;
}
