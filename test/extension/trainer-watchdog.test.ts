/**
 * The trainer watchdog with fake workers: a call past its deadline, a worker crash and a lost
 * GPU device each replace the worker and drop its backend; ordinary errors pass through; and the
 * contributor loop sets up again on the new worker and goes on submitting.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import type { TrainerReport } from '../../extension/common/messages';
import { Contributor, type TrainerRemote } from '../../extension/offscreen/contributor';
import type { FederationConnection } from '../../extension/offscreen/federation';
import { ImageBuffer } from '../../extension/offscreen/image-buffer';
import { KEEP_SIZE as KEEP } from '../../extension/offscreen/resize';
import { TrainerRestartedError, watchTrainer, type WorkerHandle } from '../../extension/offscreen/trainer-watchdog';
import type { BackendName } from '../../extension/common/backend-choice';
import type { Plan } from '../../shared/protocol/messages';

type Behaviour = 'ok' | 'hang' | 'device-lost' | 'bad-input';

/** Fake workers: the n-th spawned one trains with behaviours[n] (then 'ok'); it takes the first backend offered. */
function fleet(behaviours: Behaviour[]) {
  const spawned: Array<{ orders: BackendName[][]; terminated: boolean; crash: (why: string) => void; calls: string[] }> = [];
  const spawn = (): WorkerHandle => {
    const n = spawned.length;
    const me = { orders: [] as BackendName[][], terminated: false, crash: (_: string) => {}, calls: [] as string[] };
    spawned.push(me);
    let backend = '';
    const trainer: TrainerRemote = {
      async initBackend(order: readonly BackendName[] = ['webgpu']) {
        me.orders.push([...order]);
        backend ||= order[0];
        return backend;
      },
      async init(p) {
        me.calls.push('init');
        me.orders.push([...(p.backends ?? [])]);
        backend ||= p.backends![0];
        return { backend, inputSize: 2, channels: 3, deltaValues: 5 };
      },
      async setWeights() {
        me.calls.push('setWeights');
        return { tensors: 1 };
      },
      async train(_pixels, steps) {
        me.calls.push('train');
        const b = behaviours[n] ?? 'ok';
        if (b === 'hang') return new Promise(() => {});
        if (b === 'device-lost') throw new Error('GPU device was lost: reason unknown');
        if (b === 'bad-input') throw new Error('trainer: 13 bytes is not a whole number of 2×2×3 images');
        return { losses: Array(steps).fill(1), msPerStep: 1, examples: steps * 3, backend, numTensors: 0 };
      },
      async getDelta() {
        return new ArrayBuffer(20);
      },
    };
    return { trainer, terminate: () => void (me.terminated = true), onCrash: (l) => void (me.crash = l) };
  };
  return { spawn, spawned };
}

const plan = { method: 'byol', batchSize: 3 };

describe('trainer watchdog', () => {
  it('replaces a worker whose round misses its deadline, and drops the backend it hung on', async () => {
    const f = fleet(['hang']);
    const restarts: string[] = [];
    const t = watchTrainer({ spawn: f.spawn, deadlines: { trainBaseMs: 80, trainPerStepMs: 10 }, onRestart: (w) => restarts.push(w) });
    expect(await t.initBackend()).toBe('webgpu');
    await t.init(plan);
    const t0 = Date.now();
    await expect(t.train(new ArrayBuffer(12), 2, 1)).rejects.toThrow(/trainer restarted: a 2-step round did not answer within 0 s on webgpu/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(f.spawned).toHaveLength(2);
    expect(f.spawned[0].terminated).toBe(true);
    expect(restarts).toHaveLength(1);
    expect(t.allowedBackends()).toEqual(['webgl', 'wasm', 'cpu']);
    // The new worker is offered the remaining backends only, and trains.
    expect(await t.initBackend()).toBe('webgl');
    expect(f.spawned[1].orders[0]).toEqual(['webgl', 'wasm', 'cpu']);
    await t.init(plan);
    expect((await t.train(new ArrayBuffer(12), 2, 1)).losses).toEqual([1, 1]);
    expect(t.restarts()).toBe(1);
  });

  it('a lost GPU device restarts at once; an ordinary error does not', async () => {
    const f = fleet(['device-lost', 'bad-input']);
    const t = watchTrainer({ spawn: f.spawn, deadlines: { trainBaseMs: 60_000 } });
    await t.init(plan);
    const e = await t.train(new ArrayBuffer(12), 1, 1).catch((x) => x);
    expect(e).toBeInstanceOf(TrainerRestartedError);
    expect(e.message).toMatch(/a 1-step round failed: GPU device was lost/);
    expect(t.allowedBackends()).toEqual(['webgl', 'wasm', 'cpu']);
    expect(f.spawned[0].terminated).toBe(true);

    await t.init(plan); // worker 2: a request error is the caller's to handle; the worker stays
    await expect(t.train(new ArrayBuffer(13), 1, 1)).rejects.toThrow(/not a whole number/);
    expect(f.spawned).toHaveLength(2);
    expect(f.spawned[1].terminated).toBe(false);
    expect(t.restarts()).toBe(1);
  });

  it("a worker's crash ends its pending call long before the deadline; cpu is never dropped", async () => {
    const f = fleet(['hang', 'hang']);
    const t = watchTrainer({ spawn: f.spawn, deadlines: { trainBaseMs: 60_000 } });
    await t.init({ ...plan, backends: ['wasm', 'cpu'] });
    const pending = t.train(new ArrayBuffer(12), 1, 1);
    f.spawned[0].crash('out of memory');
    await expect(pending).rejects.toThrow(/the training worker crashed \(out of memory\)/);
    expect(t.allowedBackends()).toEqual(['webgpu', 'webgl', 'cpu']);
    await t.init({ ...plan, backends: ['cpu'] });
    const second = t.train(new ArrayBuffer(12), 1, 1);
    f.spawned[1].crash('again');
    await expect(second).rejects.toThrow(/crashed \(again\)/);
    expect(t.allowedBackends()).toEqual(['webgpu', 'webgl', 'cpu']); // the last resort is never dropped
    expect(f.spawned).toHaveLength(3);
  });

  it('the contributor loop sets up again on the new worker and keeps submitting', async () => {
    const f = fleet(['hang']);
    const buffer = await ImageBuffer.open('watchdog', undefined, new IDBFactory());
    for (const u of ['a', 'b', 'c']) await buffer.add(u, KEEP, new Uint8Array(KEEP * KEEP * 3));
    const reports: TrainerReport[] = [];
    const submitted: number[] = [];
    let connects = 0;
    const planMsg: Plan = {
      protocol: 1, runId: 'r', method: 'byol', methodConfig: {}, optimizer: { kind: 'sgd', learningRate: 0.1 }, localSteps: 2, batchSize: 3,
      version: 0, maxStaleness: 5, maxExamples: 100, maxMessageBytes: 1e6, bufferSize: 1, hasTarget: true,
    };
    const conn = (): FederationConnection => ({
      plan: planMsg, connected: true, latestVersion: submitted.length,
      pull: async () => ({ version: submitted.length, weights: new ArrayBuffer(8) }),
      submit: async (r) => (submitted.push(r.baseVersion), { accepted: true, version: submitted.length }),
      onVersion() {}, close() {},
    });
    let c: Contributor | null = null;
    const trainer = watchTrainer({ spawn: f.spawn, deadlines: { trainBaseMs: 50, trainPerStepMs: 0 }, onRestart: () => c?.trainerRestarted() });
    c = new Contributor({
      policy: { lease: async () => ({ ok: true, serverUrl: 'http://s', token: '', budgetMs: 1e6, backend: 'auto' }), report: async (r) => void reports.push(r) },
      buffer, trainer, connect: async () => (connects++, conn()), load: async (_u, size) => new Uint8Array(size * size * 3), clientId: 'w', idleWaitMs: 10, roundGapMs: 10,
    });
    const running = c.run();
    const end = Date.now() + 5000;
    while (submitted.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    c.stop();
    await running; // the loop has ended before its buffer closes
    expect(submitted.length).toBeGreaterThanOrEqual(2);
    expect(reports.some((r) => /trainer restarted: a 2-step round did not answer/.test(r.lastError ?? ''))).toBe(true);
    expect(f.spawned).toHaveLength(2);
    expect(f.spawned[1].calls.slice(0, 3)).toEqual(['init', 'setWeights', 'train']); // set up from scratch
    expect(connects).toBe(2); // reconnected to announce the new backend
    expect(reports.at(-1)!.backend).toBe('webgl');
    buffer.close();
  });
});
