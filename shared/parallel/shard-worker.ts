/**
 * An encoder shard worker (Node worker_threads; see encoder-shards.ts and shard-protocol.ts):
 * its own tfjs wasm backend with Glimpse's single-thread SIMD kernels, replicas of the
 * trainer's encoders, and one shard of each batch. For a call with gradient it keeps its tape
 * open until the trainer sends the gradient of its output, so the forward pass is not repeated:
 * the loss it differentiates is sum(z · dz), whose gradient with respect to the weights is the
 * shard's share of the trainer's.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initNodeBackend } from '../backends/node-backend';
import { sabViews, signal, STATE, waitWhile, type ApplyCommand, type ShardCommand } from './shard-protocol';

const replicas = new Map<number, Promise<tfl.LayersModel>>();
/** The weights version each replica holds. */
const versions = new Map<number, number>();

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
      v.z.set(forward().dataSync());
      return;
    }
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    let finished = false;
    const { grads } = tf.variableGrads(() => {
      const z = forward();
      v.z.set(z.dataSync());
      signal(v.state, STATE.OUTPUT);
      finished = waitWhile(v.state, STATE.OUTPUT) === STATE.GRADIENT;
      const dz = finished ? tf.tensor(v.dz.slice(), z.shape) : tf.zerosLike(z);
      return tf.sum(tf.mul(z, dz)) as tf.Scalar;
    }, vars);
    if (finished) {
      let at = 0;
      for (const w of vars) {
        const g = grads[w.name].dataSync();
        v.grads.set(g, at);
        at += g.length;
      }
    }
  });
}

async function main(): Promise<void> {
  if (!parentPort) throw new Error('shard-worker.ts runs as a worker thread');
  const port = parentPort;
  await initNodeBackend('wasm');
  port.on('message', async (c: ShardCommand) => {
    if (c.cmd === 'model') {
      replicas.set(c.id, tfl.models.modelFromJSON(JSON.parse(c.topology)));
      return;
    }
    const { state } = sabViews(c.sab, c.r1 - c.r0, c.dim, c.params);
    try {
      const model = await replicas.get(c.id);
      if (!model) throw new Error(`no model ${c.id}`);
      apply(model, c);
      signal(state, STATE.DONE);
    } catch (e) {
      console.error('glimpse shard worker:', e);
      signal(state, STATE.FAILED);
    }
  });
  port.postMessage('ready');
}

void main();
