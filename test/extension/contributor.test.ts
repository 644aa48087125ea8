import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import type { Lease, TrainerReport } from '../../extension/common/messages';
import { Contributor, type TrainerRemote } from '../../extension/offscreen/contributor';
import type { FederationConnection, SubmitOutcome } from '../../extension/offscreen/federation';
import { ImageBuffer } from '../../extension/offscreen/image-buffer';
import { KEEP_SIZE as KEEP } from '../../extension/offscreen/resize';
import { watchTrainer } from '../../extension/offscreen/trainer-watchdog';
import { UrlQueue } from '../../extension/offscreen/url-queue';
import { AFTER_REJECTION } from '../../shared/contributor/after-rejection';
import { REJECT_CODES, type Plan } from '../../shared/protocol/messages';

const plan: Plan = {
  protocol: 1, runId: 'r', method: 'byol', methodConfig: {}, optimizer: { kind: 'sgd', learningRate: 0.1 }, localSteps: 2, batchSize: 3,
  version: 0, maxStaleness: 5, maxExamples: 100, maxMessageBytes: 1e6, bufferSize: 1, hasTarget: true,
};

function harness(opts: { leases: Lease[]; outcomes?: SubmitOutcome[] }) {
  const reports: TrainerReport[] = [];
  const calls: string[] = [];
  const submitted: { baseVersion: number; bytes: number }[] = [];
  let version = 0;
  const conn: FederationConnection = {
    get plan() { return plan; },
    connected: true,
    get latestVersion() { return version; },
    async pull() { calls.push(`pull v${version}`); return { version, weights: new ArrayBuffer(8) }; },
    async submit(r) {
      submitted.push({ baseVersion: r.baseVersion, bytes: r.delta.byteLength });
      const o = opts.outcomes?.shift() ?? { accepted: true, version: version + 1 };
      if (o.accepted) version++;
      return o;
    },
    onVersion() {},
    close() {},
  };
  const trainer: TrainerRemote = {
    async initBackend() { calls.push('initBackend'); return 'cpu'; },
    async init() { calls.push('init'); return { backend: 'cpu', inputSize: 2, channels: 3, deltaValues: 5 }; },
    async setWeights() { calls.push('setWeights'); return { tensors: 1 }; },
    async train(pixels, steps) { calls.push(`train ${pixels.byteLength / 12} imgs`); return { losses: Array(steps).fill(1.5), msPerStep: 3, examples: steps * 3, backend: 'cpu', numTensors: 0 }; },
    async getDelta() { return new ArrayBuffer(20); },
  };
  let lease = 0;
  return { reports, calls, submitted, conn, trainer, policy: {
    lease: async () => opts.leases[Math.min(lease++, opts.leases.length - 1)],
    report: async (r: TrainerReport) => void reports.push(r),
  } };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('Contributor loop (fake server and worker)', () => {
  it('waits while the lease is refused, then collects images, pulls, trains and submits', async () => {
    const buffer = await ImageBuffer.open('c1', undefined, new IDBFactory());
    const h = harness({ leases: [{ ok: false, code: 'paused', reason: 'paused' }, { ok: true, serverUrl: 'http://s', token: '', budgetMs: 1e6, backend: 'auto' }] });
    const c = new Contributor({
      policy: h.policy, buffer, trainer: h.trainer, connect: async () => h.conn,
      load: async (url, size) => new Uint8Array(size * size * 3).fill(url.length), clientId: 'test', idleWaitMs: 10, roundGapMs: 10,
    });
    const running = c.run();
    await until(() => h.reports.some((r) => r.waiting?.text === 'paused'));
    await until(() => h.reports.some((r) => r.waiting?.text.startsWith('collecting images (0 of 3)') ?? false));
    expect(h.calls.slice(0, 2)).toEqual(['initBackend', 'init']);
    expect(await c.ingest(['https://a/1.png', 'https://a/22.png', 'https://a/333.png', 'https://a/1.png'])).toBe(3); // the queue holds a URL once
    await until(() => h.submitted.length >= 2);
    c.stop();
    await running; // the loop has ended before its buffer closes
    expect(h.calls).toContain('pull v0');
    expect(h.calls).toContain('train 3 imgs'); // the duplicate URL was stored once
    expect(h.submitted[0]).toEqual({ baseVersion: 0, bytes: 20 });
    expect(h.submitted[1].baseVersion).toBe(1); // pulled the new version before the next round
    const round = h.reports.find((r) => r.round)!;
    expect(round.round).toMatchObject({ steps: 2, losses: [1.5, 1.5], submitted: true, accepted: true });
    expect(round.backend).toBe('cpu');
    expect(round.buffered).toBe(3);
    buffer.close();
  });

  it('follows the backend setting: the order it asks for, and a fresh worker when the setting changes', async () => {
    const buffer = await ImageBuffer.open('c3', undefined, new IDBFactory());
    for (const u of ['a', 'b', 'c']) await buffer.add(u, KEEP, new Uint8Array(KEEP * KEEP * 3));
    const lease = (backend: 'auto' | 'wasm') => ({ ok: true as const, serverUrl: 'http://s', token: '', budgetMs: 1e6, backend });
    const h = harness({ leases: [lease('auto'), lease('auto'), lease('wasm')] });
    const asked: unknown[] = [];
    const replaced: string[] = [];
    const trainer: TrainerRemote = {
      ...h.trainer,
      async initBackend(order, softwareGpu) { asked.push({ order, softwareGpu }); return 'webgpu'; },
      async init(p) { asked.push({ plan: p.backends, softwareGpu: p.softwareGpu }); return { backend: 'webgpu', inputSize: 2, channels: 3, deltaValues: 5 }; },
    };
    const c = new Contributor({
      policy: h.policy, buffer, trainer, connect: async () => h.conn, load: async (_u, size) => new Uint8Array(size * size * 3), clientId: 't', idleWaitMs: 10, roundGapMs: 10,
      replaceTrainer: (why) => replaced.push(why),
    });
    const running = c.run();
    await until(() => h.submitted.length >= 3);
    c.stop();
    await running; // the loop has ended before its buffer closes
    expect(asked[0]).toEqual({ order: ['webgpu', 'webgl', 'wasm', 'cpu'], softwareGpu: 'last' });
    expect(asked[1]).toEqual({ plan: ['webgpu', 'webgl', 'wasm', 'cpu'], softwareGpu: 'last' });
    expect(replaced).toEqual(['the backend setting changed to wasm']);
    expect(asked).toContainEqual({ order: ['wasm', 'webgpu', 'webgl', 'cpu'], softwareGpu: 'allow' });
    expect(asked.at(-1)).toEqual({ plan: ['wasm', 'webgpu', 'webgl', 'cpu'], softwareGpu: 'allow' });
    buffer.close();
  });

  it("sets the worker up with the lease's cores and reports what the wasm kernels run on", async () => {
    const buffer = await ImageBuffer.open('c5', undefined, new IDBFactory());
    for (const u of ['a', 'b', 'c']) await buffer.add(u, KEEP, new Uint8Array(KEEP * KEEP * 3));
    const h = harness({ leases: [{ ok: true, serverUrl: 'http://s', token: '', budgetMs: 1e6, backend: 'wasm', cores: 4 }] });
    const threadsAsked: unknown[] = [];
    const trainer: TrainerRemote = {
      ...h.trainer,
      async initBackend(_order, _soft, threads) { threadsAsked.push(threads); return 'wasm'; },
      async init() { return { backend: 'wasm', inputSize: 2, channels: 3, deltaValues: 5 }; },
      async wasmThreads() { return { threads: 1, asked: 4, why: 'the page is not cross-origin isolated' }; },
    };
    const c = new Contributor({ policy: h.policy, buffer, trainer, connect: async () => h.conn, load: async (_u, size) => new Uint8Array(size * size * 3), clientId: 't', idleWaitMs: 10, roundGapMs: 10 });
    const running = c.run();
    await until(() => h.reports.some((r) => r.round));
    c.stop();
    await running;
    expect(threadsAsked).toEqual([4]);
    expect(h.reports.find((r) => r.round)!.threads).toBe('1 thread (4 allowed; the page is not cross-origin isolated)');
    buffer.close();
  });

  it('keeps running and says why when the image buffer fails under it', async () => {
    const buffer = await ImageBuffer.open('c4', undefined, new IDBFactory());
    const h = harness({ leases: [{ ok: false, code: 'paused', reason: 'paused' }] });
    const c = new Contributor({ policy: h.policy, buffer, trainer: h.trainer, connect: async () => h.conn, load: async (_u, size) => new Uint8Array(size * size * 3), clientId: 't', idleWaitMs: 10 });
    let ended = false;
    const running = c.run().finally(() => (ended = true));
    await until(() => h.reports.length >= 1);
    buffer.close(); // every IndexedDB call now throws InvalidStateError
    const seen = h.reports.length;
    await until(() => h.reports.length >= seen + 3);
    expect(ended).toBe(false);
    expect(h.reports.at(-1)!.lastError).toMatch(/^image buffer unavailable/);
    c.stop();
    await running;
  });

  it('reports a rejection and re-pulls after a stale update', async () => {
    const buffer = await ImageBuffer.open('c2', undefined, new IDBFactory());
    for (const u of ['a', 'b', 'c']) await buffer.add(u, KEEP, new Uint8Array(KEEP * KEEP * 3));
    const h = harness({ leases: [{ ok: true, serverUrl: 'http://s', token: '', budgetMs: 1e6, backend: 'auto' }], outcomes: [{ accepted: false, version: 0, code: 'too_stale', reason: 'old' }] });
    const c = new Contributor({ policy: h.policy, buffer, trainer: h.trainer, connect: async () => h.conn, load: async (_u, size) => new Uint8Array(size * size * 3), clientId: 't', idleWaitMs: 10, roundGapMs: 10 });
    const running = c.run();
    await until(() => h.submitted.length >= 2);
    c.stop();
    await running; // the loop has ended before its buffer closes
    const rejected = h.reports.find((r) => r.round && !r.round.accepted)!;
    expect(rejected.lastError).toMatch(/too_stale/);
    expect(h.calls.filter((x) => x.startsWith('pull')).length).toBeGreaterThanOrEqual(2);
    buffer.close();
  });

  it('follows the shared after-rejection table for every RejectCode: re-pulls, waits the server hint, or goes on', async () => {
    const buffer = await ImageBuffer.open('c5', undefined, new IDBFactory());
    for (const u of ['a', 'b', 'c']) await buffer.add(u, KEEP, new Uint8Array(KEEP * KEEP * 3));
    const codes = [...REJECT_CODES];
    const h = harness({
      leases: [{ ok: true, serverUrl: 'http://s', token: '', budgetMs: 1e6, backend: 'auto' }],
      outcomes: codes.map((code) => ({ accepted: false, version: 0, code, reason: 'scripted', retryAfterMs: 150 })),
    });
    const events: string[] = [];
    const conn: FederationConnection = {
      ...h.conn,
      get plan() { return plan; },
      get latestVersion() { return 0; },
      connected: true,
      async pull() { events.push('pull'); return h.conn.pull(); },
      async submit(r) { events.push(`submit @${Date.now()}`); return h.conn.submit(r); },
    };
    const c = new Contributor({ policy: h.policy, buffer, trainer: h.trainer, connect: async () => conn, load: async (_u, size) => new Uint8Array(size * size * 3), clientId: 't', idleWaitMs: 10, roundGapMs: 10 });
    const running = c.run();
    await until(() => h.submitted.length > codes.length, 10_000);
    c.stop();
    await running;
    const submits = events.flatMap((e, i) => (e.startsWith('submit') ? [i] : []));
    codes.forEach((code, r) => {
      const between = events.slice(submits[r] + 1, submits[r + 1]);
      expect(between.includes('pull'), code).toBe(AFTER_REJECTION[code] === 'pull-newest');
      const gap = Number(events[submits[r + 1]].split('@')[1]) - Number(events[submits[r]].split('@')[1]);
      if (AFTER_REJECTION[code] === 'wait') expect(gap, code).toBeGreaterThanOrEqual(145);
    });
    buffer.close();
  });

  it('buffers seen images before any plan, while the lease is refused and no server was ever reached', async () => {
    const buffer = await ImageBuffer.open('c6', undefined, new IDBFactory());
    const h = harness({ leases: [{ ok: false, code: 'idle-only', reason: 'waiting until you are away (idle-only)' }] });
    let connects = 0;
    const loaded: number[] = [];
    const c = new Contributor({
      policy: h.policy, buffer, trainer: h.trainer, connect: async () => (connects++, h.conn), clientId: 't', idleWaitMs: 10,
      load: async (_u, size) => (loaded.push(size), new Uint8Array(size * size * 3)),
    });
    const running = c.run();
    expect(await c.ingest(['https://a/1.jpg', 'https://a/2.jpg', 'https://a/3.jpg'])).toBe(3);
    await until(() => h.reports.some((r) => r.buffered === 3));
    c.stop();
    await running;
    expect(connects).toBe(0);
    expect(h.calls).toEqual([]); // no worker either
    expect(loaded).toEqual([KEEP, KEEP, KEEP]);
    buffer.close();
  });

  it('keeps queued URLs across a stop: the next trainer page fetches them', async () => {
    const factory = new IDBFactory();
    const buffer = await ImageBuffer.open('c7', undefined, factory);
    const h = harness({ leases: [{ ok: false, code: 'paused', reason: 'paused' }] });
    // First trainer: its fetches never finish (the page closes with them in flight).
    const stuck = new Contributor({ policy: h.policy, buffer, queue: await UrlQueue.open('q7', undefined, factory), trainer: h.trainer, connect: async () => h.conn, clientId: 't', idleWaitMs: 10, load: () => new Promise(() => {}) });
    const first = stuck.run();
    await stuck.ingest(['https://a/1.jpg', 'https://a/2.jpg', 'https://a/3.jpg', 'https://a/4.jpg', 'https://a/5.jpg']);
    stuck.stop();
    await first;
    const queue = await UrlQueue.open('q7', undefined, factory);
    expect(await queue.size()).toBe(3); // two were in flight
    const next = new Contributor({ policy: h.policy, buffer, queue, trainer: h.trainer, connect: async () => h.conn, clientId: 't', idleWaitMs: 10, load: async (_u, size) => new Uint8Array(size * size * 3) });
    const second = next.run();
    await until(() => h.reports.some((r) => r.buffered === 3));
    expect(await queue.size()).toBe(0);
    next.stop();
    await second;
    buffer.close();
  });

  it('parks the training worker whenever it cannot train, and starts a fresh one on demand', async () => {
    const buffer = await ImageBuffer.open('c8', undefined, new IDBFactory());
    for (const u of ['a', 'b', 'c']) await buffer.add(u, KEEP, new Uint8Array(KEEP * KEEP * 3));
    const ok: Lease = { ok: true, serverUrl: 'http://s', token: '', budgetMs: 1e6, backend: 'auto' };
    const used: Lease = { ok: false, code: 'budget-used', reason: "today's compute budget is used up" };
    const leases = [ok, used, used, ok];
    const h = harness({ leases });
    const workers: { terminated: boolean }[] = [];
    const trainer = watchTrainer({
      spawn: () => {
        const w = { terminated: false };
        workers.push(w);
        return { trainer: h.trainer, terminate: () => void (w.terminated = true), onCrash: () => {} };
      },
    });
    expect(workers).toHaveLength(0); // nothing spawned before it is needed
    const c = new Contributor({ policy: h.policy, buffer, trainer, connect: async () => h.conn, load: async (_u, size) => new Uint8Array(size * size * 3), clientId: 't', idleWaitMs: 10, roundGapMs: 10 });
    const running = c.run();
    await until(() => h.reports.some((r) => r.waiting?.code === 'budget-used'));
    expect(workers).toHaveLength(1);
    expect(workers[0].terminated).toBe(true);
    expect(trainer.running()).toBe(false);
    await until(() => h.submitted.length >= 2);
    c.stop();
    await running;
    expect(workers).toHaveLength(2); // a fresh one for the next round
    expect(h.calls.filter((x) => x === 'init')).toHaveLength(2); // set up again on it
    buffer.close();
  });

  it('a round runs at the plan size on images kept at 64 px, and reports the bytes it moved', async () => {
    const buffer = await ImageBuffer.open('c9', undefined, new IDBFactory());
    for (const u of ['a', 'b', 'c']) await buffer.add(u, KEEP, new Uint8Array(KEEP * KEEP * 3).fill(200));
    const h = harness({ leases: [{ ok: true, serverUrl: 'http://s', token: '', budgetMs: 1e6, backend: 'auto', cpuPercent: 40 }] });
    const seen: { bytes: number; cpu?: number }[] = [];
    const trainer: TrainerRemote = { ...h.trainer, async train(pixels, steps, seed, limits) { seen.push({ bytes: pixels.byteLength, cpu: limits?.cpuPercent }); return h.trainer.train(pixels, steps, seed); } };
    const c = new Contributor({ policy: h.policy, buffer, trainer, connect: async () => h.conn, load: async () => new Uint8Array(0), clientId: 't', idleWaitMs: 10, roundGapMs: 10 });
    const running = c.run();
    await until(() => h.submitted.length >= 1);
    c.stop();
    await running;
    expect(seen[0]).toEqual({ bytes: 3 * 2 * 2 * 3, cpu: 40 }); // three 2×2 RGB images, the CPU cap passed on
    expect(h.reports.find((r) => r.round)!.round).toMatchObject({ bytesSent: 20, bytesReceived: 8 });
    buffer.close();
  });

  it('clear() empties the buffer and the queue and reports the fresh count at once', async () => {
    const buffer = await ImageBuffer.open('c10', undefined, new IDBFactory());
    for (const u of ['a', 'b']) await buffer.add(u, KEEP, new Uint8Array(KEEP * KEEP * 3));
    const h = harness({ leases: [{ ok: false, code: 'paused', reason: 'paused' }] });
    const c = new Contributor({ policy: h.policy, buffer, trainer: h.trainer, connect: async () => h.conn, load: () => new Promise(() => {}), clientId: 't', idleWaitMs: 60_000 });
    const running = c.run();
    await until(() => h.reports.some((r) => r.buffered === 2));
    expect(await c.clear()).toBe(0);
    expect(h.reports.at(-1)!.buffered).toBe(0);
    c.stop();
    await running;
    buffer.close();
  });

  it('after an accepted update waits for the version it goes into, and starts as soon as it comes', async () => {
    const buffer = await ImageBuffer.open('c-next', undefined, new IDBFactory());
    for (const u of ['a', 'b', 'c']) await buffer.add(u, KEEP, new Uint8Array(KEEP * KEEP * 3));
    const h = harness({ leases: [{ ok: true, serverUrl: 'http://s', token: '', budgetMs: 1e6, backend: 'cpu' }] });
    // A server whose buffer needs another contributor's update: accepted, no new version yet.
    let version = 0;
    let announce: ((v: number) => void) | null = null;
    const submits: { at: number; baseVersion: number }[] = [];
    const conn: FederationConnection = {
      ...h.conn,
      get latestVersion() { return version; },
      async pull() { return { version, weights: new ArrayBuffer(8) }; },
      async submit(r) { submits.push({ at: Date.now(), baseVersion: r.baseVersion }); return { accepted: true, version }; },
      onVersion(l) { announce = l; },
    };
    const c = new Contributor({
      policy: h.policy, buffer, trainer: h.trainer, connect: async () => conn, load: async (_u, size) => new Uint8Array(size * size * 3), clientId: 't', idleWaitMs: 10, roundGapMs: 10,
    });
    const running = c.run();
    await until(() => submits.length === 1);
    await new Promise((r) => setTimeout(r, 600));
    expect(submits).toHaveLength(1); // not training again from the version that lacks its update
    version = 1;
    const at = Date.now();
    announce!(1);
    await until(() => submits.length === 2);
    expect(submits[1].at - at).toBeLessThan(1000); // the version ended the wait (bound: ≥ 2 s)
    expect(submits[1].baseVersion).toBe(1);
    c.stop();
    await running;
    buffer.close();
  });
});
