/**
 * Data-parallel encoder passes on worker threads, exact: the batch of an encoder call is split
 * into one shard per worker, each worker runs its replica of the encoder on its shard (and
 * later its backward pass), and the trainer gets back the concatenated output and the summed
 * weight gradients — the same numbers as one pass over the whole batch, up to the order of
 * float additions. Everything after the encoder (heads with batch statistics, contrastive losses
 * over the whole batch, the optimizer) stays on the trainer's thread, so no method changes its
 * meaning. An encoder with batch statistics (BatchNormalization) is never sharded.
 *
 * In the trainer, an encoder call with gradient becomes one custom-gradient op whose inputs are
 * the images and the encoder's trainable variables: its forward waits for the workers' outputs,
 * its gradient sends each worker the gradient of its output rows and sums what comes back.
 * Weights are written for the workers only when they changed since the last call (an optimizer
 * step replaces a variable's data). At most one sharded call waits for its gradient: another encoder
 * call under the same gradient tape runs on the trainer's thread, and a call whose tape is gone
 * (its loss never needed the gradient, or threw) is released before the next one starts.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapF32, off } from '../backends/wasm/heap';
import { viewShape } from '../augment/pipeline';
import type { ViewSpec } from '../augment/views';
import { sabBytes, sabViews, signal, STATE, viewSabBytes, viewSabViews, waitWhile, type ShardCommand } from './shard-protocol';

/** A shard's pass takes seconds even on a loaded machine; this long without an answer means it is gone. */
const SHARD_STALL_MS = 300_000;

/** What the trainer needs of a worker (Node's worker_threads Worker fits). */
export interface ShardWorker {
  postMessage(message: ShardCommand): void;
  terminate(): unknown;
}

interface ModelState {
  id: number;
  /** Every weight, float32, in `model.weights` order: what the workers copy into their replicas. */
  weights: SharedArrayBuffer;
  version: number;
  /** The weights' data objects when last written (an optimizer step replaces them). */
  written: unknown[];
}

export interface EncoderShards {
  readonly workers: number;
  /** Encoder calls run on the workers so far (others ran on the trainer's thread). */
  readonly shardedCalls: number;
  /** Augmented views computed on the workers so far. */
  readonly shardedViews: number;
  /** Whether `model` can be sharded (no batch statistics) — checked once per model. */
  eligible(model: tfl.LayersModel): boolean;
  /** `model.apply(x, kwargs)` with the batch split across the workers. */
  apply(model: tfl.LayersModel, x: tf.Tensor, kwargs: { training?: boolean }, local: () => tf.Tensor): tf.Tensor;
  /**
   * The augmented views of `images` (shared/augment/views.ts), view j on worker j mod workers, in
   * parallel where the trainer would compute them one after the other; null where they cannot
   * run there now (fewer than two views, not on wasm, or a worker waits inside a call).
   */
  augmentViews(images: tf.Tensor4D, views: readonly ViewSpec[]): tf.Tensor4D[] | null;
  dispose(): Promise<void>;
}

const dataIdOf = (w: tfl.LayerVariable) => (w.read() as unknown as { dataId: unknown }).dataId;

function sizeOf(shape: readonly (number | null)[]): number {
  return shape.reduce<number>((a, b) => a * (b ?? 1), 1);
}

/** Copies a float32 tensor's values into `dst`: straight from the heap on wasm (no array to collect). */
export function readInto(t: tf.Tensor, dst: Float32Array): void {
  if (tf.getBackend() === 'wasm') {
    const o = off(tf.backend() as unknown as BackendWasm, t);
    dst.set(heapF32(tf.backend() as unknown as BackendWasm).subarray(o, o + dst.length));
  } else {
    dst.set(t.dataSync() as Float32Array);
  }
}

/** A SharedArrayBuffer of at least `bytes`, reusing `current` when it is large enough. */
function atLeast(current: SharedArrayBuffer | null, bytes: number): SharedArrayBuffer {
  return current && current.byteLength >= bytes ? current : new SharedArrayBuffer(bytes);
}

/** [start, end) rows of shard `i` of `n` rows over `k` shards. */
function shardRows(n: number, k: number, i: number): [number, number] {
  return [Math.floor((i * n) / k), Math.floor(((i + 1) * n) / k)];
}

export function createEncoderShards(workers: ShardWorker[]): EncoderShards {
  const models = new WeakMap<tfl.LayersModel, ModelState>();
  const eligibility = new WeakMap<tfl.LayersModel, boolean>();
  let nextId = 1;
  /** Reused between calls: the input batch, and each worker's results. */
  let input: SharedArrayBuffer | null = null;
  const results: Array<SharedArrayBuffer | null> = workers.map(() => null);
  /** Reused between calls: each view's result. */
  const viewResults: Array<SharedArrayBuffer | null> = [];
  /** The call whose workers wait for its gradient, if any, and the gradient tape it belongs to. */
  let pending: { calls: Array<{ state: Int32Array }>; tape: unknown } | null = null;
  const activeTape = () => (tf.engine() as unknown as { state: { activeTape: unknown } }).state.activeTape;

  function stateOf(model: tfl.LayersModel): ModelState {
    let s = models.get(model);
    if (!s) {
      const floats = model.weights.reduce((a, w) => a + sizeOf(w.shape), 0);
      s = { id: nextId++, weights: new SharedArrayBuffer(4 * floats), version: 0, written: [] };
      const topology = JSON.stringify(model.toJSON(null, false));
      for (const w of workers) w.postMessage({ cmd: 'model', id: s.id, topology });
      models.set(model, s);
    }
    return s;
  }

  /** Writes the model's weights for the workers when they changed since the last call. */
  function syncWeights(model: tfl.LayersModel, s: ModelState): void {
    const ids = model.weights.map(dataIdOf);
    if (s.written.length === ids.length && s.written.every((d, j) => d === ids[j])) return;
    let at = 0;
    for (const w of model.weights) {
      const n = sizeOf(w.shape);
      readInto(w.read(), new Float32Array(s.weights, 4 * at, n));
      at += n;
    }
    s.written = ids;
    s.version++;
  }

  /** Releases the workers of a call still waiting for a gradient that will not come. */
  function releasePending(): void {
    if (!pending) return;
    for (const p of pending.calls) signal(p.state, STATE.ABORT);
    for (const p of pending.calls) waitWhile(p.state, STATE.ABORT, SHARD_STALL_MS);
    pending = null;
  }

  /** Posts the shards and waits for every worker's output; returns the calls' views. */
  function start(model: tfl.LayersModel, x: tf.Tensor, grad: boolean, training: boolean) {
    const s = stateOf(model);
    syncWeights(model, s);
    const n = x.shape[0];
    const rowFloats = sizeOf(x.shape.slice(1));
    input = atLeast(input, 4 * n * rowFloats);
    readInto(x, new Float32Array(input, 0, n * rowFloats));
    const outShape = model.outputs[0].shape.slice(1) as number[];
    const dim = sizeOf(outShape);
    const params = model.trainableWeights.reduce((a, w) => a + sizeOf(w.shape), 0);
    const calls = workers.map((w, i) => {
      const [r0, r1] = shardRows(n, workers.length, i);
      const sab = (results[i] = atLeast(results[i], sabBytes(r1 - r0, dim, params)));
      const views = sabViews(sab, r1 - r0, dim, params);
      Atomics.store(views.state, 0, STATE.BUSY);
      w.postMessage({
        cmd: 'apply', id: s.id, grad, training, weights: s.weights, weightsVersion: s.version,
        input: input!, shape: x.shape, r0, r1, dim, params, sab,
      });
      return { rows: r1 - r0, ...views };
    });
    for (const c of calls) {
      if (waitWhile(c.state, STATE.BUSY, SHARD_STALL_MS) === STATE.FAILED) throw new Error('glimpse: an encoder shard worker failed (see its log)');
    }
    const z = new Float32Array(n * dim);
    let at = 0;
    for (const c of calls) {
      z.set(c.z, at);
      at += c.z.length;
    }
    return { calls, z: tf.tensor(z, [n, ...outShape]), dim };
  }

  function backward(model: tfl.LayersModel, calls: ReturnType<typeof start>['calls'], dz: tf.Tensor, dim: number): tf.Tensor[] {
    const g = dz.dataSync() as Float32Array;
    let at = 0;
    for (const c of calls) {
      c.dz.set(g.subarray(at, at + c.rows * dim));
      at += c.rows * dim;
      signal(c.state, STATE.GRADIENT);
    }
    for (const c of calls) {
      if (waitWhile(c.state, STATE.GRADIENT, SHARD_STALL_MS) === STATE.FAILED) throw new Error('glimpse: an encoder shard worker failed (see its log)');
    }
    pending = null;
    const [first, ...rest] = calls;
    const sum = first.grads.slice();
    for (const c of rest) {
      const g = c.grads;
      for (let i = 0; i < sum.length; i++) sum[i] += g[i];
    }
    let off = 0;
    return model.trainableWeights.map((w) => {
      const n = sizeOf(w.shape);
      const t = tf.tensor(sum.subarray(off, off + n), w.shape as number[]);
      off += n;
      return t;
    });
  }

  let shardedCalls = 0;
  let shardedViews = 0;
  return {
    workers: workers.length,
    get shardedCalls() {
      return shardedCalls;
    },
    get shardedViews() {
      return shardedViews;
    },
    eligible(model) {
      let ok = eligibility.get(model);
      if (ok == null) {
        ok = model.inputs.length === 1 && model.outputs.length === 1 && !model.layers.some((l) => l.getClassName() === 'BatchNormalization');
        eligibility.set(model, ok);
      }
      return ok;
    },
    apply(model, x, kwargs, local) {
      const training = kwargs.training ?? false;
      const tape = tf.engine().isTapeOn() ? activeTape() : null;
      if (pending && pending.tape !== tape) releasePending();
      if (pending || x.shape[0] < workers.length) return local();
      shardedCalls++;
      if (tape == null) {
        const { calls, z } = start(model, x, false, training);
        for (const c of calls) waitWhile(c.state, STATE.OUTPUT, SHARD_STALL_MS);
        return z;
      }
      const vars = model.trainableWeights.map((w) => w.read());
      const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
        const xi = args[0] as tf.Tensor;
        const { calls, z, dim } = start(model, xi, true, training);
        pending = { calls, tape };
        return { value: z, gradFunc: (dz: tf.Tensor) => [tf.zerosLike(xi), ...backward(model, calls, dz, dim)] };
      });
      return op(x, ...vars);
    },
    augmentViews(images, views) {
      // A worker inside a call that waits for its gradient takes no other command until it ends.
      if (pending || views.length < 2 || tf.getBackend() !== 'wasm') return null;
      input = atLeast(input, 4 * images.size);
      readInto(images, new Float32Array(input, 0, images.size));
      const outs = views.map((v, j) => {
        const shape = viewShape(images.shape[0], v.params);
        const floats = sizeOf(shape);
        const sab = (viewResults[j] = atLeast(viewResults[j] ?? null, viewSabBytes(floats)));
        const out = viewSabViews(sab, floats);
        Atomics.store(out.state, 0, STATE.BUSY);
        workers[j % workers.length].postMessage({ cmd: 'augment', params: v.params, seed: v.seed, input: input!, shape: images.shape, outFloats: floats, sab });
        return { ...out, shape };
      });
      for (const o of outs) {
        if (waitWhile(o.state, STATE.BUSY, SHARD_STALL_MS) === STATE.FAILED) throw new Error('glimpse: an encoder shard worker failed (see its log)');
      }
      shardedViews += outs.length;
      return outs.map((o) => tf.tensor4d(o.view, o.shape));
    },
    async dispose() {
      releasePending();
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
