/**
 * Data-parallel encoder passes (shared/parallel/): with 2 shard workers, one step of every SSL
 * method gives the same loss, prepared inputs and variable gradients as on one thread (the batch
 * is split for the encoder only; heads with batch statistics and the losses see the whole batch),
 * with its encoder calls (and SimCLR's, BYOL's and MoCo's two augmented views) on the workers and
 * without leaking tensors; a call whose gradient is
 * never asked for does not block the next.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../shared/backends/node-backend';
import { buildEncoder, DEFAULT_ENCODER } from '../../../shared/models/encoder';
import { trainableVariables } from '../../../shared/models/weights-io';
import { activeEncoderShards, ENCODER_MODEL_NAMES } from '../../../shared/parallel/patch-encoder-data-parallel';
import { encoderFeatureModel } from '../../../shared/ssl/feature-map';
import type { MethodConfig } from '../../../shared/ssl/method';
import { createMethod, methodNames } from '../../../shared/ssl/registry';
import { relErr, T, TOL } from '../backends/wasm/compare';

const SMALL: Partial<MethodConfig> = {
  encoder: { ...DEFAULT_ENCODER, inputSize: 16, stemWidth: 8, widths: [8, 12, 16] },
  projectionHidden: 32,
  projectionDim: 16,
};

const single = () => initNodeBackend('wasm', { threads: 1 });
async function sharded(): Promise<void> {
  expect(await initNodeBackend('wasm', { threads: 2, parallel: 'data' })).toBe('wasm');
  expect(activeEncoderShards()?.workers).toBe(2);
}

/** Encoder calls that ran on the shard workers so far. */
const shardedCalls = () => activeEncoderShards()?.shardedCalls ?? 0;
/** Augmented views computed on the shard workers so far. */
const shardedViews = () => activeEncoderShards()?.shardedViews ?? 0;
/** The methods whose two views go through augmentViews (one per worker when sharded). */
const TWO_VIEW_METHODS = new Set(['simclr', 'byol', 'moco', 'mocov2']);

beforeAll(async () => {
  expect(await single()).toBe('wasm');
});

afterAll(async () => {
  await single();
});

it('shards the models buildEncoder and encoderFeatureModel make', () => {
  const e = buildEncoder(SMALL.encoder);
  expect(ENCODER_MODEL_NAMES.has(e.name)).toBe(true);
  expect(ENCODER_MODEL_NAMES.has(encoderFeatureModel(e).name)).toBe(true);
  e.dispose();
});

/**
 * Fixed weights, not tfjs's Math.random initialisers: the shards sum a weight gradient in another
 * order than one pass does, and with some random draws a gradient is a sum of terms that nearly
 * cancel, where reordering float32 additions alone moves it past the tolerance.
 */
function fixWeights(models: tfl.LayersModel[]): void {
  models.forEach((m, k) => {
    const values = m.weights.map((w, i) => tf.tidy(() => {
      const shape = w.shape as number[];
      const u = T(shape, 100 * k + i);
      if (shape.length === 1) return tf.add(tf.mul(u, 0.1), /gamma|variance/.test(w.name) ? 1 : 0);
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      return tf.mul(u, Math.sqrt(6 / fanIn)); // He-uniform bound
    }));
    m.setWeights(values);
    tf.dispose(values);
  });
}

describe('one training step on 2 encoder shards equals one thread', () => {
  for (const name of methodNames()) {
    it(name, async () => {
      const method = createMethod(name, SMALL);
      fixWeights([...method.online.models, ...method.target.models]);
      const vars = trainableVariables(method.online.models);
      const images = tf.mul(tf.add(T([6, 16, 16, 3], 70), 1), 0.5) as tf.Tensor4D;
      const step = () => {
        const inputs = method.prepare(images, 3);
        const { value, grads } = tf.variableGrads(() => method.loss(inputs), vars);
        const out = [...inputs, value, ...vars.map((v) => grads[v.name])].map((t) => t.dataSync() as Float32Array);
        tf.dispose([...inputs, value, ...Object.values(grads)]);
        return out;
      };
      await single();
      const ref = step();
      await sharded();
      const before = tf.memory().numTensors;
      const calls = shardedCalls();
      const views = shardedViews();
      const got = step();
      expect(shardedCalls() - calls, 'encoder calls on the workers').toBeGreaterThanOrEqual(1);
      expect(shardedViews() - views, 'augmented views on the workers').toBe(TWO_VIEW_METHODS.has(name) ? 2 : 0);
      expect(tf.memory().numTensors).toBe(before);
      ref.forEach((r, i) => {
        // A gradient that is zero in exact arithmetic (a bias in front of a batch norm) is rounding
        // noise on both sides: require it tiny instead of comparing noise with noise.
        const scale = Math.max(...r.map(Math.abs));
        if (scale < 1e-6) expect(Math.max(...got[i].map(Math.abs)), `output ${i}`).toBeLessThan(1e-6);
        else expect(relErr(r, got[i]), `output ${i}`).toBeLessThanOrEqual(TOL);
      });
      images.dispose();
      method.dispose();
    });
  }
});

it('an encoder call whose gradient is never needed does not hold the workers', async () => {
  await sharded();
  const encoder = buildEncoder(SMALL.encoder);
  const x = T([4, 16, 16, 3], 80);
  const other = tf.variable(tf.scalar(2));
  // The encoder runs under the tape but the loss does not depend on it: no gradient comes back.
  tf.dispose(tf.variableGrads(() => {
    encoder.apply(x, { training: true });
    return tf.square(other) as tf.Scalar;
  }, [other]).grads);
  const vars = encoder.trainableWeights.map((w) => w.read() as tf.Variable);
  const calls = shardedCalls();
  const g = tf.variableGrads(() => tf.sum(encoder.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
  const shardedGrads = vars.map((v) => g.grads[v.name].dataSync() as Float32Array);
  expect(shardedCalls() - calls, 'the second call ran on the workers').toBe(1);
  tf.dispose([g.value, ...Object.values(g.grads)]);
  await single();
  const r = tf.variableGrads(() => tf.sum(encoder.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
  vars.forEach((v, i) => expect(relErr(r.grads[v.name].dataSync() as Float32Array, shardedGrads[i])).toBeLessThanOrEqual(TOL));
  tf.dispose([r.value, ...Object.values(r.grads), x, other]);
  encoder.dispose();
});
