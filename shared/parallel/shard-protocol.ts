/**
 * The protocol between the training thread and its encoder shard workers (see encoder-shards.ts).
 *
 * Commands go out by postMessage (a worker is then idle in its event loop); bulk data never does:
 * the trainer writes a model's weights and a call's input batch (or the images to augment) once into SharedArrayBuffers that
 * every worker reads. Results come back through a SharedArrayBuffer per worker, with Atomics,
 * because the training thread is inside a synchronous tfjs op while it waits, and a worker inside
 * a synchronous gradient tape while it waits for the gradient of its output.
 *
 * Result SharedArrayBuffer of a worker: Int32 STATE word, then float32 regions
 *   z [rows, dim] (worker → trainer) | dz [rows, dim] (trainer → worker) | grads [params] (worker → trainer).
 */

import type { ViewParams } from '../augment/pipeline';

/** The browser shard worker's bundle in the extension (scripts/build-extension.ts), next to the training worker's. */
export const SHARD_WORKER_FILE = 'shard-worker.js';

/** A model replica to build from its topology (`LayersModel.toJSON()`), known to the worker by id. */
export interface ModelCommand {
  cmd: 'model';
  id: number;
  topology: string;
}

/**
 * Apply replica `id` to rows [r0, r1) of the batch in `input` (float32, shape `shape`); with
 * `grad`, keep the tape for the gradient.
 */
export interface ApplyCommand {
  cmd: 'apply';
  id: number;
  grad: boolean;
  training: boolean;
  /** Every weight of the model in `model.weights` order (float32), as of `weightsVersion`. */
  weights: SharedArrayBuffer;
  weightsVersion: number;
  input: SharedArrayBuffer;
  shape: number[];
  r0: number;
  r1: number;
  /** Floats per output row (the representation size). */
  dim: number;
  /** Trainable parameters in `model.trainableWeights` order (the grads region). */
  params: number;
  sab: SharedArrayBuffer;
}

/**
 * Compute one augmented view (shared/augment) of the batch in `input` (float32, shape `shape`)
 * into `sab`: its STATE word, then the view's `outFloats` floats.
 */
export interface AugmentCommand {
  cmd: 'augment';
  params: ViewParams;
  seed: number;
  input: SharedArrayBuffer;
  shape: number[];
  outFloats: number;
  sab: SharedArrayBuffer;
}

export type ShardCommand = ModelCommand | ApplyCommand | AugmentCommand;

/** STATE values. */
export const STATE = {
  /** Posted; the worker is computing its output. */
  BUSY: 0,
  /** z written (worker → trainer). */
  OUTPUT: 1,
  /** dz written (trainer → worker): finish the gradient. */
  GRADIENT: 2,
  /** The trainer no longer needs the gradient: finish without it. */
  ABORT: 3,
  /** grads written, or the call is over (worker → trainer). */
  DONE: 4,
  FAILED: -1,
} as const;

const HEADER_BYTES = 16;

/** The STATE word that leads every command's SharedArrayBuffer. */
export function stateOf(sab: SharedArrayBuffer): Int32Array {
  return new Int32Array(sab, 0, 1);
}

/** Bytes of an augment command's SharedArrayBuffer, and its views. */
export function viewSabBytes(floats: number): number {
  return HEADER_BYTES + 4 * floats;
}

export function viewSabViews(sab: SharedArrayBuffer, floats: number) {
  return { state: stateOf(sab), view: new Float32Array(sab, HEADER_BYTES, floats) };
}

/** Bytes of the SharedArrayBuffer for a call of `rows` output rows. */
export function sabBytes(rows: number, dim: number, params: number): number {
  return HEADER_BYTES + 4 * (2 * rows * dim + params);
}

/** Views of one call's SharedArrayBuffer. */
export function sabViews(sab: SharedArrayBuffer, rows: number, dim: number, params: number) {
  const zAt = HEADER_BYTES;
  const dzAt = zAt + 4 * rows * dim;
  const gradsAt = dzAt + 4 * rows * dim;
  return {
    state: stateOf(sab),
    z: new Float32Array(sab, zAt, rows * dim),
    dz: new Float32Array(sab, dzAt, rows * dim),
    grads: new Float32Array(sab, gradsAt, params),
  };
}

/**
 * Blocks until `state` leaves `from`; returns the new state. With `timeoutMs`, throws once the
 * state has not moved for that long: a thread blocked here runs no timers, so a dead peer would
 * otherwise freeze it (and everything that could report the problem) for good.
 */
export function waitWhile(state: Int32Array, from: number, timeoutMs = Infinity): number {
  const deadline = performance.now() + timeoutMs;
  let s = Atomics.load(state, 0);
  while (s === from) {
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`glimpse: an encoder shard worker did not answer within ${Math.round(timeoutMs / 1000)} s`);
    Atomics.wait(state, 0, from, Math.min(left, 1000));
    s = Atomics.load(state, 0);
  }
  return s;
}

export function signal(state: Int32Array, value: number): void {
  Atomics.store(state, 0, value);
  Atomics.notify(state, 0);
}
