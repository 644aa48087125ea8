/**
 * Shared scaffolding of the SSL method tests: the fast wasm backend, tiny configs, fixture batch
 * sources, and the three checks every method gets — a short run lowers the loss, no tensor growth
 * per step, and one federated round (offline and through a real server).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { expect } from 'vitest';
import { initNodeBackend } from '../../../shared/backends/node-backend';
import { colourToModelInput, loadColourFixture } from '../../../shared/data/colour-fixture';
import { loadFixture } from '../../../shared/data/fixture';
import { ImageBatchSource, toModelInput } from '../../../shared/data/images';
import { connectClient, tempDir } from '../../server/helpers';
import { startServer } from '../../../server/server';
import { TARGET_PREFIX, type MethodConfig, type SslMethod } from '../../../shared/ssl/method';
import { createMethod, resolveMethodConfig } from '../../../shared/ssl/registry';
import { initialGlobalWeights, makeAuxiliaryOptimizers, mainVariables, makeOptimizer, runLocalRound, trainStep, type BatchSource } from '../../../shared/train/local-round';

/** Training on stock cpu takes seconds per step; wasm with Glimpse's kernels takes tens of ms. */
export async function useWasm(): Promise<void> {
  expect(await initNodeBackend('wasm')).toBe('wasm');
}

export const SIZE = 16;

/** A ~6k-parameter encoder on 16×16 input: the real architecture at toy widths. */
export const TINY: Partial<MethodConfig> = {
  encoder: { inputSize: SIZE, channels: 3, stemWidth: 8, widths: [8, 16, 16], strides: [1, 2, 2], blocksPerStage: [1, 1, 1], norm: 'layer' },
  projectionHidden: 32,
  projectionDim: 16,
};

/** Seeded batches of Fashion-MNIST fixture images at SIZE px, as a BatchSource. */
export function fashionSource(seed: number, count = 256): BatchSource {
  const set = loadFixture('train');
  const n = Math.min(count, set.count);
  const data = toModelInput(set.images.subarray(0, n * 28 * 28), n, 28, 28, SIZE);
  const src = new ImageBatchSource(data, n, SIZE, 3, seed);
  return (b) => tf.tensor4d(src.nextBatch(b), [b, SIZE, SIZE, 3]);
}

/** Seeded batches of the colour fixture (32 px), resized to SIZE. */
export function colourSource(seed: number, count = 256): BatchSource {
  const c = loadColourFixture(count);
  const src = new ImageBatchSource(colourToModelInput(c), c.count, c.size, 3, seed);
  return (b) => tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(src.nextBatch(b), [b, c.size, c.size, 3]), [SIZE, SIZE], true));
}

/** Always the same batch: the loss of a pretext task must fall when it can fit it. */
export function fixedSource(source: BatchSource, b: number): BatchSource {
  const batch = source(b);
  return () => tf.clone(batch);
}

/**
 * Trains `steps` steps and returns the mean loss of the first and last `window` steps.
 * A mean over several steps (each with its own seed) keeps the check robust to one noisy batch.
 */
export async function firstAndLastLoss(method: SslMethod, source: BatchSource, steps: number, window: number, batchSize = 8, learningRate = 3e-3, warmupSteps = 0) {
  const global = initialGlobalWeights(method);
  // Steps with a zero learning rate: fill per-client state (MoCo's queue) without learning.
  if (warmupSteps > 0) await runLocalRound({ method, global, steps: warmupSteps, batchSize, nextBatch: source, seed: 1000, optimizer: { kind: 'sgd', learningRate: 0 } });
  const r = await runLocalRound({ method, global, steps, batchSize, nextBatch: source, seed: 7, optimizer: { kind: 'adam', learningRate } });
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return { first: mean(r.metrics.losses.slice(0, window)), last: mean(r.metrics.losses.slice(-window)), losses: r.metrics.losses };
}

/** numTensors after step 2 equals numTensors after step `steps` (optimizer slots exist after step 1). */
export function expectNoTensorGrowth(method: SslMethod, source: BatchSource, steps = 4, batchSize = 4): void {
  const optimizer = makeOptimizer({ kind: 'adam', learningRate: 1e-3 });
  const aux = makeAuxiliaryOptimizers(method, { kind: 'adam', learningRate: 1e-3 });
  const vars = mainVariables(method);
  const counts: number[] = [];
  try {
    for (let i = 0; i < steps; i++) {
      const images = source(batchSize);
      trainStep(method, optimizer, vars, images, 100 + i, 0, 0, aux);
      images.dispose();
      counts.push(tf.memory().numTensors);
    }
  } finally {
    optimizer.dispose();
    for (const a of aux) a.dispose();
  }
  expect(counts.slice(1).every((c) => c === counts[1]), `numTensors per step: ${counts.join(', ')}`).toBe(true);
}

/** initialGlobalWeights → runLocalRound → the delta has exactly the online names, no target names. */
export async function expectOfflineRound(method: SslMethod, source: BatchSource): Promise<void> {
  const global = initialGlobalWeights(method);
  const r = await runLocalRound({ method, global, steps: 1, batchSize: 4, nextBatch: source, seed: 3 });
  const onlineNames = method.online.models.flatMap((m) => m.weights.map((w) => w.originalName)).sort();
  expect([...r.delta.keys()].sort()).toEqual(onlineNames);
  expect([...r.delta.keys()].some((n) => n.startsWith(TARGET_PREFIX))).toBe(false);
  const targetNames = [...global.keys()].filter((n) => n.startsWith(TARGET_PREFIX));
  expect(targetNames.length).toBe(method.momentumPairs.length);
}

/**
 * A real round: start the aggregation server with the method's plan (its serverMomentum as the
 * EMA when it has one), one client pulls, trains, submits; the version advances.
 */
export async function expectServerRound(name: string, overrides: Partial<MethodConfig>, source: BatchSource): Promise<void> {
  const t = tempDir('glimpse-ssl-');
  const resolved = resolveMethodConfig(name, overrides);
  const momentum = typeof resolved.serverMomentum === 'number' ? resolved.serverMomentum : 0.99;
  const srv = await startServer({
    port: 0, host: '127.0.0.1', dataDir: t.dir, log: false, method: name, methodConfig: overrides as Record<string, unknown>,
    localSteps: 2, batchSize: 4, aggregation: { bufferSize: 1, ema: { base: momentum, kind: 'constant' } },
  });
  // The server builds its copy of the method on cpu; the client trains on wasm.
  await useWasm();
  const client = await connectClient(srv.url, { backend: 'wasm' });
  try {
    const plan = client.plan;
    expect(plan.method).toBe(name);
    const method = createMethod(plan.method, plan.methodConfig as Partial<MethodConfig>);
    try {
      const { version, weights } = await client.pullWeights('latest');
      const r = await runLocalRound({ method, global: weights, steps: plan.localSteps, batchSize: plan.batchSize, nextBatch: source, seed: 1 });
      const next = client.waitForVersion(version, 30_000);
      const ack = await client.submitDelta({ baseVersion: version, examples: r.metrics.examples, delta: r.delta, metrics: { loss: r.metrics.losses.at(-1)! } });
      expect(ack.ok).toBe(true);
      expect(await next).toBe(version + 1);
      const after = await client.pullWeights('latest');
      expect(after.version).toBe(version + 1);
      expect([...after.weights.keys()].sort()).toEqual([...weights.keys()].sort());
    } finally {
      method.dispose();
    }
  } finally {
    client.close();
    await srv.close();
    t.cleanup();
    await useWasm();
  }
}
