import { readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initServerOptimizer } from '../../../server/aggregation/server-optimizer';
import { writeFileAtomic } from '../../../server/store/atomic-file';
import { CheckpointStore, checkpointName, decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointMeta } from '../../../server/store/checkpoint';
import type { WeightMap } from '../../../shared/weights/weight-map';
import { randomDelta, sameBits, tempDir } from '../helpers';

const online: WeightMap = new Map([
  ['enc/kernel', { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => Math.fround(Math.sin(i) * 1e-3)) }],
  ['enc/bias', { shape: [4], data: Float32Array.from([NaN, -0, 1e-45, 3.4e38].map((x, i) => (i === 0 ? 0.5 : x))) }],
]);

function checkpoint(version: number): Checkpoint {
  const cfg = { kind: 'fedadam' as const, lr: 0.01, beta1: 0.9, beta2: 0.99, epsilon: 1e-3 };
  const optimizer = initServerOptimizer(cfg, [{ name: 'enc/kernel', shape: [3, 4] }, { name: 'enc/bias', shape: [4] }]);
  optimizer.slots.m = randomDelta(online, version);
  const target: WeightMap = new Map([...online].map(([k, v]) => [`target/${k}`, { shape: v.shape, data: new Float32Array(v.data).map((x) => x * 2) }]));
  return {
    meta: {
      format: 1, runId: 'run', version, method: 'byol', methodConfig: { encoder: { widths: [8] } },
      momentumPairs: [...online.keys()].map((k) => ({ online: k, target: `target/${k}` })), serverOptimizer: cfg, optimizerStep: version,
      onlineNames: [...online.keys()], targetNames: [...target.keys()], recentNorms: [1, 2], folded: [{ version, ids: ['u1'] }],
      lastStep: null, buffer: [], createdAt: 0, encoderNames: ['enc/kernel'], extra: {},
    },
    state: { version, online, target, optimizer },
    buffer: [{ updateId: 'b1', contributorId: 'c', baseVersion: version, examples: 3, loss: null, norm: 1, clipped: false, receivedAt: 5, delta: randomDelta(online, 9) }],
  };
}

describe('checkpoints', () => {
  const t = tempDir();
  afterAll(t.cleanup);

  it('round-trips the full state bit-identically', async () => {
    const store = new CheckpointStore(join(t.dir, 'a'), 3);
    const c = checkpoint(1);
    await store.write(c);
    const back = await store.read(1);
    expect(sameBits(back.state.online, c.state.online)).toBe(true);
    expect(sameBits(back.state.target, c.state.target)).toBe(true);
    expect(sameBits(back.state.optimizer.slots.m, c.state.optimizer.slots.m)).toBe(true);
    expect(sameBits(back.state.optimizer.slots.v, c.state.optimizer.slots.v)).toBe(true);
    expect(sameBits(back.buffer[0].delta, c.buffer[0].delta)).toBe(true);
    expect(back.buffer[0]).toMatchObject({ updateId: 'b1', examples: 3 });
    expect(back.meta.folded).toEqual([{ version: 1, ids: ['u1'] }]);
  });

  it('keeps the run fields typed, and reads them from `extra` in checkpoints written before they had fields', () => {
    const c = checkpoint(1);
    expect(decodeCheckpoint(encodeCheckpoint({ ...c, meta: { ...c.meta, serverMomentum: 0.999 } })).meta).toMatchObject({ encoderNames: ['enc/kernel'], serverMomentum: 0.999 });
    const { encoderNames: _names, ...legacy } = c.meta;
    const old = { ...legacy, extra: { encoderNames: ['enc/kernel'], serverMomentum: 0.99 } } as unknown as CheckpointMeta;
    expect(decodeCheckpoint(encodeCheckpoint({ ...c, meta: old })).meta).toMatchObject({ encoderNames: ['enc/kernel'], serverMomentum: 0.99 });
  });

  it('skips a corrupted newest checkpoint and keeps the newest N', async () => {
    const dir = join(t.dir, 'b');
    const store = new CheckpointStore(dir, 2);
    for (const v of [1, 2, 3]) await store.write(checkpoint(v));
    writeFileSync(join(dir, '.ckpt-0000000009.glwt.abc.tmp'), 'partial');
    await store.prune();
    await store.removeTempFiles();
    expect(readdirSync(dir).sort()).toEqual([checkpointName(2), checkpointName(3)]);
    const p = join(dir, checkpointName(3));
    const bytes = readFileSync(p);
    bytes[bytes.length - 2] ^= 0xff;
    writeFileSync(p, bytes);
    writeFileSync(join(dir, checkpointName(4)), bytes.subarray(0, 100));
    const { checkpoint: c, skipped } = await store.loadLatest();
    expect(c!.meta.version).toBe(2);
    expect(skipped).toHaveLength(2);
    expect(skipped[0]).toMatch(/truncated/);
    expect(skipped[1]).toMatch(/checksum/);
  });

  it('writes atomically: replace, no temp files left behind', async () => {
    const p = join(t.dir, 'c', 'file.bin');
    await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    await writeFileAtomic(p, new Uint8Array([4, 5]));
    expect([...readFileSync(p)]).toEqual([4, 5]);
    expect(readdirSync(join(t.dir, 'c'))).toEqual(['file.bin']);
  });
});
