/**
 * The inside of an encoder shard worker, whatever hosts it (Node's worker_threads: shard-worker.ts;
 * a Web Worker in the extension: browser-shard-worker.ts): replicas of the trainer's encoders, and
 * one shard of each batch (see encoder-shards.ts and shard-protocol.ts). For a call with gradient
 * it keeps its tape open until the trainer sends the gradient of its output, so the forward pass
 * is not repeated: the loss it differentiates is sum(z · dz), whose gradient with respect to the
 * weights is the shard's share of the trainer's. Between encoder calls it also computes whole
 * augmented views of a batch (the trainer's augmentViews), one view per worker. The host activates
 * the wasm backend with Glimpse's single-thread SIMD kernels first.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { readInto } from './encoder-shards';
import { augment } from '../augment/pipeline';
import { sabViews, signal, STATE, stateOf, viewSabViews, waitWhile, type ApplyCommand, type AugmentCommand, type ShardCommand } from './shard-protocol';

/** How a host delivers the trainer's commands. */
export type ShardCommands = (handler: (c: ShardCommand) => void) => void;

function setWeights(model: tfl.LayersModel, flat: Float32Array): void {
  let at = 0;
  const values = model.weights.map((w) => {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(flat.subarray(at, at + n), shape);
    at += n;
    return t;
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** Serves the trainer's commands; `onError` logs a failed call (the trainer is told through STATE). */
export function serveShards(commands: ShardCommands, onError: (e: unknown) => void): void {
  const replicas = new Map<number, Promise<tfl.LayersModel>>();
  /** The weights version each replica holds. */
  const versions = new Map<number, number>();

  function apply(model: tfl.LayersModel, c: ApplyCommand): void {
    if (versions.get(c.id) !== c.weightsVersion) {
      setWeights(model, new Float32Array(c.weights));
      versions.set(c.id, c.weightsVersion);
    }
    const rows = c.r1 - c.r0;
    const rowFloats = c.shape.slice(1).reduce((a, b) => a * b, 1);
    const v = sabViews(c.sab, rows, c.dim, c.params);
    tf.tidy(() => {
      const x = tf.tensor(new Float32Array(c.input, 4 * c.r0 * rowFloats, rows * rowFloats), [rows, ...c.shape.slice(1)]);
      const forward = () => model.apply(x, { training: c.training }) as tf.Tensor;
      if (!c.grad) {
        readInto(forward(), v.z);
        return;
      }
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      let finished = false;
      const { grads } = tf.variableGrads(() => {
        const z = forward();
        readInto(z, v.z);
        signal(v.state, STATE.OUTPUT);
        finished = waitWhile(v.state, STATE.OUTPUT) === STATE.GRADIENT;
        const dz = finished ? tf.tensor(v.dz.slice(), z.shape) : tf.zerosLike(z);
        return tf.sum(tf.mul(z, dz)) as tf.Scalar;
      }, vars);
      if (finished) {
        let at = 0;
        for (const w of vars) {
          const g = grads[w.name];
          readInto(g, v.grads.subarray(at, at + g.size));
          at += g.size;
        }
      }
    });
  }

  function view(c: AugmentCommand): void {
    tf.tidy(() => {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor4d(new Float32Array(c.input, 0, n), c.shape as [number, number, number, number]);
      readInto(augment(x, c.params, c.seed), viewSabViews(c.sab, c.outFloats).view);
    });
  }

  commands(async (c) => {
    if (c.cmd === 'model') {
      replicas.set(c.id, tfl.models.modelFromJSON(JSON.parse(c.topology)));
      return;
    }
    const state = stateOf(c.sab);
    try {
      if (c.cmd === 'augment') {
        view(c);
      } else {
        const model = await replicas.get(c.id);
        if (!model) throw new Error(`no model ${c.id}`);
        apply(model, c);
      }
      signal(state, STATE.DONE);
    } catch (e) {
      onError(e);
      signal(state, STATE.FAILED);
    }
  });
}
