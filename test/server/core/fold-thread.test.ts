/**
 * The fold worker (core/fold-thread.ts): a step folded there is bit-identical to the in-process
 * fedbuffStep, the shared arena it reuses never leaks into a result, a checkpoint it encodes is the
 * one encoded in-process, a worker that dies fails only
 * its step; and, through a real server, updates acknowledged while a fold is in flight are folded
 * exactly once, also across a restart (the step's checkpoint no longer carries them: the update
 * log does).
 */
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { fedbuffStep, type BufferedUpdate, type GlobalState } from '../../../server/aggregation/fedbuff';
import { initServerOptimizer } from '../../../server/aggregation/server-optimizer';
import { DEFAULT_ROBUST } from '../../../server/aggregation/robust';
import { FoldThread } from '../../../server/core/fold-thread';
import { CHECKPOINT_FORMAT, decodeCheckpoint, encodeCheckpoint, type CheckpointMeta } from '../../../server/store/checkpoint';
import { describeMethod } from '../../../server/model/method-info';
import { sparseTensor, type WeightMap, type WeightTensor } from '../../../shared/weights/weight-map';
import { connectClient, coordinates, indicatorDelta, onlineOnly, rng, sameBits, startTiny, TINY_METHOD_CONFIG, tempDir } from '../helpers';

async function tinyInputs(seed: number) {
  const info = await describeMethod('byol', TINY_METHOD_CONFIG);
  const r = rng(seed);
  const fill = (n: number) => Float32Array.from({ length: n }, () => r() - 0.5);
  const online: WeightMap = new Map(info.onlineSpecs.map((s) => [s.name, { shape: s.shape, data: fill(s.shape.reduce((a, b) => a * b, 1)) }]));
  const target: WeightMap = new Map(info.targetSpecs.map((s) => [s.name, { shape: s.shape, data: new Float32Array(online.get(s.name.slice(7))!.data) }]));
  const pairs = info.targetSpecs.map((s) => ({ online: s.name.slice(7), target: s.name }));
  const state: GlobalState = { version: 4, online, target, optimizer: initServerOptimizer({ kind: 'fedavg', lr: 1 }, info.onlineSpecs) };
  const updates: BufferedUpdate[] = Array.from({ length: 9 }, (_, i) => ({
    updateId: `u${seed}-${i}`, contributorId: `c${i % 6}`, baseVersion: 3 + (i % 2), examples: 8, loss: 1, norm: 1, clipped: false, receivedAt: i,
    // Sparse (top-k like) and dense deltas, some as views into a larger buffer (as decoded uploads are).
    delta: new Map(info.onlineSpecs.map((s): [string, WeightTensor] => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (i % 3 === 0) return [s.name, { shape: s.shape, data: new Float32Array([0, ...fill(n)].map(Number)).subarray(1) }];
      const nz = Uint32Array.from({ length: Math.ceil(n / 10) }, (_, k) => k * 10).filter((p) => p < n);
      return [s.name, sparseTensor(s.shape, nz, fill(nz.length))];
    })),
  }));
  const config = { stalenessExponent: 0.5, serverOptimizer: { kind: 'fedavg' as const, lr: 1 }, ema: { kind: 'constant' as const, base: 0.99 }, robust: { ...DEFAULT_ROBUST, iterations: 2 } };
  const center: WeightMap = new Map([...online].map(([n, t]) => [n, { shape: t.shape, data: fill(t.data.length).map((v) => v * 1e-3) }]));
  return { info, state, updates, pairs, config, center };
}

const BASE_META: CheckpointMeta = {
  format: CHECKPOINT_FORMAT, runId: 'r', version: 0, method: 'byol', methodConfig: {}, momentumPairs: [], serverOptimizer: { kind: 'fedavg', lr: 1 }, optimizerStep: 0,
  onlineNames: [], targetNames: [], recentNorms: [], folded: [{ version: 1, ids: ['a'] }], lastStep: null, buffer: [], createdAt: 1, encoderNames: [], extra: {},
};

const copyOf = (m: WeightMap): WeightMap => new Map([...m].map(([n, t]) => [n, { shape: [...t.shape], data: new Float32Array(t.data) }]));

describe('fold worker', () => {
  it('folds bit-identically to the in-process step; the reused arena never leaks into a result; a dead worker fails one step', async () => {
    const a = await tinyInputs(1);
    const b = await tinyInputs(2);
    const ft = new FoldThread();
    try {
      const local = fedbuffStep(a.state, a.updates, a.info.onlineSpecs, a.pairs, a.config, 123, { center: a.center, rand: rng(77), quarantined: new Set(['c5']), denominator: 9 });
      const viaWorker = await ft.step({ state: a.state, updates: a.updates, specs: a.info.onlineSpecs, pairs: a.pairs, config: a.config, now: 123, context: { center: a.center, randSeed: 77, quarantined: ['c5'], denominator: 9 } });
      expect(sameBits(viaWorker.state.online, local.state.online)).toBe(true);
      expect(sameBits(viaWorker.state.target, local.state.target)).toBe(true);
      expect(sameBits(viaWorker.center!, local.center!)).toBe(true);
      expect({ ...viaWorker.summary, durationMs: 0 }).toEqual({ ...local.summary, durationMs: 0 });
      expect(viaWorker.summary.updates.some((u) => u.quarantined)).toBe(true);

      // The next step reuses the arena with other updates, from the worker's (shared) state.
      const kept = { online: copyOf(viaWorker.state.online), target: copyOf(viaWorker.state.target), center: copyOf(viaWorker.center!) };
      const next = await ft.step({ state: viaWorker.state, updates: b.updates, specs: a.info.onlineSpecs, pairs: a.pairs, config: a.config, now: 124, context: { center: viaWorker.center, randSeed: 78, quarantined: [] } });
      const nextLocal = fedbuffStep(local.state, b.updates, a.info.onlineSpecs, a.pairs, a.config, 124, { center: local.center, rand: rng(78), quarantined: new Set() });
      expect(sameBits(next.state.online, nextLocal.state.online)).toBe(true);
      expect(sameBits(viaWorker.state.online, kept.online)).toBe(true);
      expect(sameBits(viaWorker.state.target, kept.target)).toBe(true);
      expect(sameBits(viaWorker.center!, kept.center)).toBe(true);
      // The caller's updates are untouched (a failed step puts them back in the buffer).
      expect(a.updates[1].delta.get(a.info.onlineSpecs[0].name)!.values!.length).toBeGreaterThan(0);

      // A step's checkpoint encoded in the worker is byte for byte the one encoded here.
      const meta = { ...BASE_META, version: next.state.version, onlineNames: [...next.state.online.keys()], targetNames: [...next.state.target.keys()] };
      const c = { meta, state: next.state, buffer: [] };
      const encoded = await ft.encodeCheckpoint(c);
      expect(Buffer.from(encoded).equals(Buffer.from(encodeCheckpoint(c)))).toBe(true);
      expect(sameBits(decodeCheckpoint(encoded).state.online, next.state.online)).toBe(true);

      // A worker that dies mid-step fails that step; the next one starts a new worker.
      const inFlight = ft.step({ state: a.state, updates: a.updates, specs: a.info.onlineSpecs, pairs: a.pairs, config: a.config, now: 125, context: { center: null, randSeed: 1, quarantined: [] } });
      await (ft as unknown as { worker: Promise<{ terminate(): Promise<number> }> }).worker.then((w) => w.terminate());
      await expect(inFlight).rejects.toThrow(/fold worker exited/);
      const again = await ft.step({ state: a.state, updates: a.updates, specs: a.info.onlineSpecs, pairs: a.pairs, config: a.config, now: 123, context: { center: a.center, randSeed: 77, quarantined: ['c5'], denominator: 9 } });
      expect(sameBits(again.state.online, local.state.online)).toBe(true);
    } finally {
      await ft.close();
    }
  }, 60_000);

  it('updates acknowledged while a fold is in flight are folded exactly once, across a restart', async () => {
    const t = tempDir('glimpse-fold-thread-');
    const cfg = { dataDir: t.dir, aggregation: { bufferSize: 2, robust: { kind: 'none' as const } } };
    const N = 12;
    try {
      let s = await startTiny(cfg);
      let c = await connectClient(s.url);
      const init = onlineOnly((await c.pullWeights(0)).weights);
      const coords = coordinates(init);
      // Folds start (in the worker) while the rest of these are still arriving and being acked.
      let ackedDuringFold = 0;
      const acks = await Promise.all(Array.from({ length: N }, async (_, k) => {
        const a = await c.submitDelta({ baseVersion: 0, examples: 1, delta: indicatorDelta(init, coords[k]), updateId: `upd-${k}` });
        if (s.coordinator.aggregating) ackedDuringFold++;
        return a;
      }));
      expect(acks.every((a) => a.ok)).toBe(true);
      expect(ackedDuringFold, 'some acks went out while a fold was in flight').toBeGreaterThan(0);
      c.close();
      await s.close();

      s = await startTiny(cfg);
      await s.coordinator.flush();
      await s.coordinator.settled();
      c = await connectClient(s.url);
      const online = onlineOnly((await c.pullWeights('latest')).weights);
      c.close();
      const db = new Database(`${t.dir}/glimpse.db`, { readonly: true });
      try {
        const rows = db.prepare('SELECT update_id, status, weight FROM updates').all() as Array<{ update_id: string; status: string; weight: number }>;
        expect(rows).toHaveLength(N);
        for (let k = 0; k < N; k++) {
          const row = rows.find((r) => r.update_id === `upd-${k}`)!;
          expect(row.status).toBe('applied');
          const [name, i] = coords[k];
          // FedAvg, lr 1, an indicator delta: its coordinate moved by the update's recorded weight
          // (s(τ)/B) once; twice if it had been folded again, 0 if lost.
          const moved = online.get(name)!.data[i] - init.get(name)!.data[i];
          expect(row.weight).toBeGreaterThan(0);
          expect(Math.abs(moved - row.weight), `update ${k} folded once`).toBeLessThan(1e-5);
        }
      } finally {
        db.close();
        await s.close();
      }
    } finally {
      t.cleanup();
    }
  }, 120_000);
});
