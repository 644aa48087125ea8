/**
 * Group commit: what arrives in one event-loop turn is committed as one batch, rows ride along
 * without an answer, work arriving during a commit forms the next batch, answers come back in
 * order, and a failed commit rejects its own batch only.
 */
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../../server/store/group-commit';

describe('group commit', () => {
  it('batches one turn, queues the next behind a running commit, answers in order', async () => {
    const batches: Array<{ items: number[]; rows: string[] }> = [];
    let release: () => void = () => {};
    const gc = new GroupCommit<number, string, string>(async (items, rows) => {
      batches.push({ items, rows });
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      return items.map((i) => `ack ${i}`);
    });
    const first = [gc.submit(1), gc.submit(2)];
    gc.record('rejected x');
    expect(gc.queued).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([{ items: [1, 2], rows: ['rejected x'] }]);
    expect(gc.queued).toBe(0);
    const second = [gc.submit(3), gc.submit(4)];
    expect(gc.queued).toBe(2);
    release();
    expect(await Promise.all([...first, ...second])).toEqual(['ack 1', 'ack 2', 'ack 3', 'ack 4']);
    expect(batches[1]).toEqual({ items: [3, 4], rows: [] });
    await gc.drain();
  });

  it('rejects the items of a failed commit and keeps committing later ones', async () => {
    let calls = 0;
    const gc = new GroupCommit<number, number, never>(async (items) => {
      if (calls++ === 0) throw new Error('disk full');
      return items;
    });
    const failed = gc.submit(1);
    await expect(failed).rejects.toThrow('disk full');
    expect(await gc.submit(2)).toBe(2);
  });

  it('drain() commits what is queued without waiting for the next turn', async () => {
    const seen: number[] = [];
    const gc = new GroupCommit<number, void, never>(async (items) => {
      seen.push(...items);
      return items.map(() => undefined);
    });
    void gc.submit(7);
    await gc.drain();
    expect(seen).toEqual([7]);
  });
});
