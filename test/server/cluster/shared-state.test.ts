/**
 * SharedState's COMMIT on a real redis-server (server/cluster/shared-state.ts) when the head moves
 * by several versions at once (versions folded while a commit was in flight, aggregator.ts): it is
 * written only on the head it was folded on and only forward; it trims the stream up to its cursor
 * and drops the checkpoints that fall out of the kept window. Skipped where redis-server is missing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SharedState } from '../../../server/cluster/shared-state';
import { redisMissing, startRedis } from '../../helpers/cluster-procs';
import { tempDir } from '../helpers';

const missing = redisMissing();

describe.skipIf(!!missing)('SharedState COMMIT of several versions', () => {
  const tmp = tempDir('glimpse-shared-state-');
  const closers: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
    tmp.cleanup();
  });

  it('moves the head from the version it was folded on, forward only, trimming the stream and old checkpoints', async () => {
    const redis = await startRedis(tmp.dir);
    closers.push(() => redis.kill('SIGKILL'));
    const s = await SharedState.connect(redis.url, 'jump');
    closers.push(() => s.close());
    const token = (await s.acquire('a', 60_000))!;
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await s.append(`u${i}`, '{}', new Uint8Array([i])))!);

    expect(await s.commit(token, 0, '0-0', new Uint8Array([0]))).toBe(1);
    expect(await s.commit(token, 1, ids[1], new Uint8Array([1]))).toBe(1);
    // Versions 2 and 3 were folded while 1 was committing: 4 is published on 1, with its checkpoint only.
    expect(await s.commit(token, 4, ids[4], new Uint8Array([4]), 0)).toBe(-2); // not the head it was folded on
    expect(await s.commit(token, 1, ids[4], new Uint8Array([4]), 1)).toBe(-2); // not forward
    expect(await s.head()).toEqual({ version: 1, cursor: ids[1] });
    expect(await s.commit(token, 4, ids[4], new Uint8Array([4]), 1)).toBe(1);
    expect(await s.head()).toEqual({ version: 4, cursor: ids[4] });
    expect([...(await s.checkpoint(4))!]).toEqual([4]);
    for (const v of [0, 1, 2, 3]) expect(await s.checkpoint(v), `checkpoint ${v}`).toBeNull(); // 0, 1 out of the window; 2, 3 never written
    expect((await s.read(s.redis, '0-0', 10, 10)).map((e) => e.updateId)).toEqual(['u5']);
    // One version again: the previous checkpoints within the window stay.
    expect(await s.commit(token, 5, ids[5], new Uint8Array([5]))).toBe(1);
    expect([...(await s.checkpoint(4))!]).toEqual([4]);
    expect(await s.read(s.redis, '0-0', 10, 10)).toEqual([]);
  });
});
