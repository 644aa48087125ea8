/**
 * Folds posted onto the state the fold worker kept (core/fold-thread.ts FoldTicket, core/step-chain.ts):
 * bit-identical to folding the returned state; a failed fold drops what the worker kept, so a fold
 * posted onto it fails too and only a resync (the state sent again) folds; and, through a real
 * server, a step whose commit fails is put back and folded again from the last committed state,
 * not from the worker's kept state that already holds it (each update applied exactly once).
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { fedbuffStep, type BufferedUpdate, type GlobalState } from '../../../server/aggregation/fedbuff';
import { initServerOptimizer } from '../../../server/aggregation/server-optimizer';
import { DEFAULT_ROBUST } from '../../../server/aggregation/robust';
import { FoldThread, type FoldInputs } from '../../../server/core/fold-thread';
import { describeMethod } from '../../../server/model/method-info';
import { sparseTensor, type WeightMap } from '../../../shared/weights/weight-map';
import { connectClient, coordinates, indicatorDelta, onlineOnly, rng, sameBits, startTiny, TINY_METHOD_CONFIG, tempDir } from '../helpers';

async function tinyRun() {
  const info = await describeMethod('byol', TINY_METHOD_CONFIG);
  const r = rng(3);
  const fill = (n: number) => Float32Array.from({ length: n }, () => r() - 0.5);
  const online: WeightMap = new Map(info.onlineSpecs.map((s) => [s.name, { shape: s.shape, data: fill(s.shape.reduce((a, b) => a * b, 1)) }]));
  const target: WeightMap = new Map(info.targetSpecs.map((s) => [s.name, { shape: s.shape, data: new Float32Array(online.get(s.name.slice(7))!.data) }]));
  const pairs = info.targetSpecs.map((s) => ({ online: s.name.slice(7), target: s.name }));
  const state: GlobalState = { version: 2, online, target, optimizer: initServerOptimizer({ kind: 'fedavg', lr: 1 }, info.onlineSpecs) };
  const updates = (tag: string): BufferedUpdate[] => Array.from({ length: 5 }, (_, i) => ({
    updateId: `${tag}-${i}`, contributorId: `c${i}`, baseVersion: 1, examples: 8, loss: 1, norm: 1, clipped: false, receivedAt: i,
    delta: new Map(info.onlineSpecs.map((s) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const nz = Uint32Array.from({ length: Math.ceil(n / 7) }, (_, k) => k * 7).filter((p) => p < n);
      return [s.name, sparseTensor(s.shape, nz, fill(nz.length))];
    })),
  }));
  const config = { stalenessExponent: 0.5, serverOptimizer: { kind: 'fedavg' as const, lr: 1 }, ema: { kind: 'constant' as const, base: 0.99 }, robust: DEFAULT_ROBUST };
  const inputs = (state: FoldInputs['state'], ups: BufferedUpdate[], seed: number): FoldInputs => ({ state, updates: ups, specs: info.onlineSpecs, pairs, config, now: 7, context: { center: null, randSeed: seed, quarantined: [] } });
  const local = (s: GlobalState, ups: BufferedUpdate[], seed: number, center: WeightMap | null) => fedbuffStep(s, ups, info.onlineSpecs, pairs, config, 7, { center, rand: rng(seed), quarantined: new Set() });
  return { state, updates, inputs, local };
}

describe('folds onto the worker-kept state', () => {
  it('fold onto a ticket = fold of the returned state; a failed fold drops the kept state until a resync', async () => {
    const t = await tinyRun();
    const ft = new FoldThread();
    try {
      const a = t.updates('a'), b = t.updates('b'), d = t.updates('d'), e = t.updates('e');
      // b is posted before a's result is back: the worker folds it onto the state it kept from a.
      const first = ft.post(t.inputs(t.state, a, 11));
      const second = ft.post(t.inputs(first, b, 12));
      expect(second.version).toBe(t.state.version + 2);
      const [r1, r2] = await Promise.all([first.result, second.result]);
      const l1 = t.local(t.state, a, 11, null);
      const l2 = t.local(l1.state, b, 12, l1.center);
      expect(sameBits(r1.state.online, l1.state.online)).toBe(true);
      expect(sameBits(r2.state.online, l2.state.online)).toBe(true);
      expect(sameBits(r2.state.target, l2.state.target)).toBe(true);
      expect(sameBits(r2.center!, l2.center!)).toBe(true);

      // A fold that fails (an update without the model's tensors) drops what the worker kept:
      // the fold posted onto it fails, and so does one onto the fold before it.
      const broken = [...t.updates('c'), { ...t.updates('x')[0], updateId: 'x', delta: new Map() }];
      const failing = ft.post(t.inputs(second, broken, 13));
      const onto = ft.post(t.inputs(failing, d, 14));
      const ontoOlder = ft.post(t.inputs(second, d, 14));
      await expect(failing.result).rejects.toThrow();
      await expect(onto.result).rejects.toThrow(/no longer holds/);
      await expect(ontoOlder.result).rejects.toThrow(/no longer holds/);
      // Resync: the state sent again, then folds onto the new kept state work again.
      const resync = ft.post({ ...t.inputs(r2.state, d, 14), context: { center: r2.center, randSeed: 14, quarantined: [] } });
      const after = ft.post(t.inputs(resync, e, 15));
      const l3 = t.local(l2.state, d, 14, l2.center);
      const l4 = t.local(l3.state, e, 15, l3.center);
      expect(sameBits((await resync.result).state.online, l3.state.online)).toBe(true);
      expect(sameBits((await after.result).state.online, l4.state.online)).toBe(true);
    } finally {
      await ft.close();
    }
  }, 60_000);

  it('a step whose commit failed is folded again from the committed state, not the worker-kept one', async () => {
    const t = tempDir('glimpse-step-chain-');
    const checkpoints = join(t.dir, 'checkpoints');
    try {
      const s = await startTiny({ dataDir: t.dir, aggregation: { bufferSize: 2, robust: { kind: 'none' } } });
      const c = await connectClient(s.url);
      try {
        const init = onlineOnly((await c.pullWeights(0)).weights);
        const coords = coordinates(init);
        const submit = (k: number) => c.submitDelta({ baseVersion: 0, examples: 1, delta: indicatorDelta(init, coords[k]), updateId: `upd-${k}` });
        expect((await Promise.all([submit(0), submit(1)])).every((a) => a.ok)).toBe(true);
        await s.coordinator.settled();
        expect(s.coordinator.version).toBe(1);

        // The next checkpoint cannot be written (its directory is a file now): the step folds in
        // the worker, which keeps that state, but its commit fails and its updates go back.
        renameSync(checkpoints, `${checkpoints}.moved`);
        writeFileSync(checkpoints, 'not a directory');
        const failed = new Promise<void>((resolve) => {
          const off = s.events.on('server:error', () => (off(), resolve()));
        });
        expect((await Promise.all([submit(2), submit(3)])).every((a) => a.ok)).toBe(true);
        await failed;
        s.coordinator.pause();
        await s.coordinator.settled();
        expect(s.coordinator.version).toBe(1);
        expect(s.coordinator.bufferedIds().sort()).toEqual(['upd-2', 'upd-3']);

        rmSync(checkpoints);
        renameSync(`${checkpoints}.moved`, checkpoints);
        mkdirSync(checkpoints, { recursive: true });
        expect(await s.coordinator.flush()).toBe(2);
        const online = onlineOnly((await c.pullWeights('latest')).weights);
        const db = new Database(join(t.dir, 'glimpse.db'), { readonly: true });
        try {
          for (let k = 0; k < 4; k++) {
            const row = db.prepare('SELECT status, weight FROM updates WHERE update_id = ?').get(`upd-${k}`) as { status: string; weight: number };
            expect(row.status).toBe('applied');
            const [name, i] = coords[k];
            // FedAvg, lr 1, an indicator delta: its coordinate moved by its recorded weight once
            // (twice had the retry folded onto the worker's kept state, which already held it).
            expect(Math.abs(online.get(name)!.data[i] - init.get(name)!.data[i] - row.weight), `update ${k} applied once`).toBeLessThan(1e-5);
          }
        } finally {
          db.close();
        }
      } finally {
        c.close();
        await s.close();
      }
    } finally {
      t.cleanup();
    }
  }, 60_000);
});
