import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createTrainerApi, type TrainerPlan } from '../../extension/worker/trainer-api';
import { createMethod } from '../../shared/ssl/registry';
import { initialGlobalWeights } from '../../shared/train/local-round';
import { decodeWeights, encodeWeights } from '../../shared/weights/codec';

const TINY = {
  encoder: { inputSize: 8, channels: 3, stemWidth: 4, widths: [4, 8], strides: [1, 2], blocksPerStage: [1, 1], norm: 'layer' as const },
  projectionHidden: 8,
  projectionDim: 4,
};
const plan: TrainerPlan = { method: 'byol', methodConfig: TINY, batchSize: 4, optimizer: { kind: 'sgd', learningRate: 0.05 }, backends: ['cpu'] };

function globalWeights(version?: number): ArrayBuffer {
  const m = createMethod('byol', TINY);
  const w = initialGlobalWeights(m);
  m.dispose();
  const bytes = encodeWeights(w, version === undefined ? {} : { meta: { version } });
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function images(n: number, s = 8): ArrayBuffer {
  const px = new Uint8Array(n * s * s * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + (i >> 5) * 11) & 255;
  return px.buffer;
}

describe('trainer worker API (called directly, cpu backend)', () => {
  it('inits on the first backend that works and reports it', async () => {
    const tried: string[][] = [];
    const api = createTrainerApi(async (order) => {
      tried.push([...order]);
      await tf.setBackend('cpu');
      return tf.getBackend();
    });
    const r = await api.init(plan);
    expect(r).toMatchObject({ backend: 'cpu', inputSize: 8, channels: 3 });
    expect(r.deltaValues).toBeGreaterThan(0);
    expect(tried).toEqual([['cpu']]);
    expect(await api.backendInUse()).toBe('cpu');
    await api.dispose();
  });

  it('trains a round and returns a GLWT delta of the online weights, without leaking tensors', async () => {
    const api = createTrainerApi(async () => (await tf.setBackend('cpu'), 'cpu'));
    const init = await api.init(plan);
    await expect(api.train(images(6), 1, 1)).rejects.toThrow(/setWeights first/);
    await api.setWeights(globalWeights());
    const r1 = await api.train(images(6), 2, 7);
    expect(r1.losses).toHaveLength(2);
    expect(r1.losses.every(Number.isFinite)).toBe(true);
    expect(r1.backend).toBe('cpu');
    expect(r1.examples).toBe(8);
    const buf = await api.getDelta();
    expect(buf).toBeInstanceOf(ArrayBuffer);
    const { weights } = decodeWeights(new Uint8Array(buf));
    expect([...weights.keys()].some((k) => k.startsWith('target/'))).toBe(false);
    let values = 0;
    let nonZero = 0;
    for (const t of weights.values()) {
      values += t.data.length;
      for (const v of t.data) if (v !== 0) nonZero++;
    }
    expect(values).toBe(init.deltaValues);
    expect(nonZero).toBeGreaterThan(0);
    const r2 = await api.train(images(6), 1, 8);
    const r3 = await api.train(images(6), 1, 9);
    expect(r3.numTensors).toBe(r2.numTensors);
    await api.dispose();
  });

  it('stamps the delta with the base version of the weights it was given (ready to send as it is)', async () => {
    const api = createTrainerApi(async () => (await tf.setBackend('cpu'), 'cpu'));
    await api.init(plan);
    await api.setWeights(globalWeights(7));
    await api.train(images(4), 1, 1);
    expect(decodeWeights(new Uint8Array(await api.getDelta())).meta).toEqual({ baseVersion: 7 });
    await api.dispose();
  });

  it('packs the delta as the plan asks and keeps the packing error for the next one once accepted', async () => {
    const api = createTrainerApi(async () => (await tf.setBackend('cpu'), 'cpu'));
    await api.init({ ...plan, upload: { dtype: 'int8', block: 16, topK: 0.05, errorFeedback: true } });
    await api.setWeights(globalWeights(3));
    await api.train(images(6), 1, 1);
    const first = new Uint8Array(await api.getDelta());
    expect(new DataView(first.buffer).getUint16(4, true)).toBe(2); // format 2: packed tensors
    const sparse = [...decodeWeights(first).weights.values()].reduce((n, t) => n + t.data.filter((v) => v !== 0).length, 0);
    const again = new Uint8Array(await api.getDelta()); // not accepted yet: the same packing
    expect(Buffer.from(again)).toEqual(Buffer.from(first));
    await api.deltaAccepted();
    // Accepted: the same delta plus what its packing dropped sends different (more) values.
    const next = decodeWeights(new Uint8Array(await api.getDelta())).weights;
    const diff = [...next].some(([n, t]) => t.data.some((v, i) => v !== decodeWeights(first).weights.get(n)!.data[i]));
    expect(diff).toBe(true);
    expect(sparse).toBeGreaterThan(0);
    await api.dispose();
  });


  it('rejects pixels that are not whole images and weights of another model', async () => {
    const api = createTrainerApi(async () => (await tf.setBackend('cpu'), 'cpu'));
    await api.init(plan);
    await api.setWeights(globalWeights());
    await expect(api.train(new ArrayBuffer(10), 1, 1)).rejects.toThrow(/whole number/);
    const other = createMethod('byol', { ...TINY, projectionDim: 6 });
    const bytes = encodeWeights(initialGlobalWeights(other));
    other.dispose();
    await expect(api.setWeights(bytes.buffer as ArrayBuffer)).rejects.toThrow(/shape/);
    await api.dispose();
  });

  it('times bench:step\'s step one call at a time on a fresh worker, switches method, and frees every tensor', async () => {
    const before = tf.memory().numTensors;
    const api = createTrainerApi(async (order) => (await tf.setBackend(order[0]), tf.getBackend()));
    const info = await api.stepBenchStart('cpu', { method: 'byol', batch: 2, methodConfig: TINY });
    expect(info).toMatchObject({ backend: 'cpu', simd: null, crossOriginIsolated: false });
    const steps = [await api.stepBenchStep(), await api.stepBenchStep()];
    for (const s of steps) expect(s.ms > 0 && Number.isFinite(s.loss)).toBe(true);
    // Another method on the same worker; a training plan, or another backend, is refused.
    await api.stepBenchStart('cpu', { method: 'simclr', batch: 2, methodConfig: TINY });
    expect(Number.isFinite((await api.stepBenchStep()).loss)).toBe(true);
    await expect(api.stepBenchStart('wasm', { method: 'byol', batch: 2, methodConfig: TINY })).rejects.toThrow(/wasm is not available \(got cpu\)/);
    await api.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const training = createTrainerApi(async () => (await tf.setBackend('cpu'), 'cpu'));
    await training.init(plan);
    await expect(training.stepBenchStart('cpu', { method: 'byol', batch: 2 })).rejects.toThrow(/fresh worker/);
    await expect(training.stepBenchStep()).rejects.toThrow(/stepBenchStart first/);
    await training.dispose();
  });
});
