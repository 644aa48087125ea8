/** The CPU cap: rest after each step so computing is at most X % of the time; the worker honours it. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { createTrainerApi, type TrainerPlan } from '../../extension/worker/trainer-api';
import { restAfterStepMs } from '../../extension/worker/duty-cycle';
import { deviceReader } from '../../extension/offscreen/device';
import { createMethod } from '../../shared/ssl/registry';
import { initialGlobalWeights } from '../../shared/train/local-round';
import { encodeWeights } from '../../shared/weights/codec';

describe('duty cycle', () => {
  it('rest = step × (100 − p) / p', () => {
    expect(restAfterStepMs(100, 50)).toBe(100);
    expect(restAfterStepMs(100, 25)).toBe(300);
    expect(restAfterStepMs(100, 100)).toBe(0);
    expect(restAfterStepMs(0, 10)).toBe(0);
  });

  it('the worker rests after each step as long as the cap asks, and its ms/step counts compute only', async () => {
    const TINY = { encoder: { inputSize: 8, channels: 3, stemWidth: 4, widths: [4], strides: [1], blocksPerStage: [1], norm: 'layer' as const }, projectionHidden: 8, projectionDim: 4 };
    const plan: TrainerPlan = { method: 'byol', methodConfig: TINY, batchSize: 2, optimizer: { kind: 'sgd', learningRate: 0.01 }, backends: ['cpu'] };
    const rests: number[] = [];
    const api = createTrainerApi(async () => (await tf.setBackend('cpu'), 'cpu'), async (ms) => void rests.push(ms));
    await api.init(plan);
    const m = createMethod('byol', TINY);
    const bytes = encodeWeights(initialGlobalWeights(m));
    m.dispose();
    await api.setWeights(bytes.slice().buffer as ArrayBuffer);
    const pixels = () => new Uint8Array(4 * 8 * 8 * 3).fill(100).buffer;
    const r = await api.train(pixels(), 2, 1, { cpuPercent: 20 });
    expect(rests).toHaveLength(2);
    // Each rest is 4× its step (20 % busy): together 4× the round's compute, which msPerStep is.
    expect(rests.reduce((a, b) => a + b, 0)).toBeCloseTo(4 * 2 * r.msPerStep, -1);
    await api.train(pixels(), 2, 2, {}); // no cap, no rest
    expect(rests).toHaveLength(2);
    await api.dispose();
  });
});

describe('device conditions', () => {
  it('reads battery and Data Saver where the browser exposes them, null elsewhere', async () => {
    const nav = { getBattery: async () => ({ charging: false }), connection: { saveData: true } } as unknown as Navigator;
    expect(await deviceReader(nav)()).toEqual({ onBattery: true, saveData: true });
    expect(await deviceReader({} as Navigator)()).toEqual({ onBattery: null, saveData: null });
    expect(await deviceReader({ getBattery: async () => { throw new Error('denied'); } } as unknown as Navigator)()).toEqual({ onBattery: null, saveData: null });
  });
});
