/**
 * The cluster aggregator's pipelining (server/cluster/aggregator.ts, commit-queue.ts), against an
 * in-memory stand-in for the Redis state whose COMMIT replies the test releases by hand: version
 * v+2 is folded while v+1's COMMIT is in flight, but sent only once v+1 is written — and never if
 * v+1 was refused; versions folded meanwhile go out in one COMMIT with the newest's checkpoint.
 *
 * Indicator deltas as in cluster.test.ts: update k is 1 at coordinate k, FedAvg (lr 1), staleness
 * exponent 0, K = 2, so a folded update moves its coordinate by exactly 1/K.
 */
import { describe, expect, it } from 'vitest';
import { ClusterAggregator } from '../../../server/cluster/aggregator';
import type { SharedState, StreamEntry } from '../../../server/cluster/shared-state';
import { resolveConfig } from '../../../server/config';
import { ServerEvents } from '../../../server/core/events';
import { decodeCheckpoint } from '../../../server/store/checkpoint';
import { encodeWeights } from '../../../shared/weights/codec';
import { TINY_METHOD_CONFIG, coordinates, indicatorDelta, tempDir } from '../helpers';

const K = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | null | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

interface Commit {
  version: number;
  /** The head version it was folded on. */
  base: number;
  cursor: string;
  bytes: Uint8Array;
  answer(verdict: 1 | -1 | -2): void;
}

/** What the aggregator uses of SharedState, in memory; commits after version 0 wait for the test's verdict. */
class HeldCommits {
  head: { version: number; cursor: string } | null = null;
  readonly checkpoints = new Map<number, Uint8Array>();
  readonly entries: StreamEntry[] = [];
  readonly commits: Commit[] = [];

  async read(_conn: unknown, after: string, count: number, blockMs: number): Promise<StreamEntry[]> {
    const seq = (id: string) => Number(id.split('-')[0]);
    const out = this.entries.filter((e) => seq(e.streamId) > seq(after)).slice(0, count);
    if (!out.length) await sleep(Math.min(blockMs, 20));
    return out;
  }

  commit(_token: number, version: number, cursor: string, bytes: Uint8Array, base = version - 1): Promise<1 | -1 | -2> {
    return new Promise((resolve) => {
      let answered = false;
      const answer = (asked: 1 | -1 | -2) => {
        if (answered) return;
        answered = true;
        // As COMMIT: written only on the head it was folded on.
        const verdict = asked === 1 && base !== (this.head?.version ?? -1) ? -2 : asked;
        if (verdict === 1) {
          this.head = { version, cursor };
          this.checkpoints.set(version, bytes);
        }
        resolve(verdict);
      };
      if (version === 0) answer(1);
      else this.commits.push({ version, base, cursor, bytes, answer });
    });
  }

  async headOf() {
    return this.head;
  }

  asShared(): SharedState {
    return {
      head: () => this.headOf(),
      checkpoint: async (v: number) => (this.checkpoints.has(v) ? Buffer.from(this.checkpoints.get(v)!) : null),
      read: this.read.bind(this),
      commit: this.commit.bind(this),
      duplicate: () => ({ disconnect() {} }),
    } as unknown as SharedState;
  }
}

/** A leading aggregator over `updates` indicator deltas in the stream; `fenced` records refusals. */
async function leading(updates: number) {
  const tmp = tempDir('glimpse-aggregator-');
  const config = resolveConfig({
    dataDir: tmp.dir, method: 'byol', methodConfig: TINY_METHOD_CONFIG, log: false,
    aggregation: { bufferSize: K, stalenessExponent: 0, maxStaleness: 1000 },
  });
  const redis = new HeldCommits();
  const fenced: number[] = [];
  const events = new ServerEvents(() => {});
  const announced: number[] = [];
  events.on('version:created', (s) => announced.push(s.version));
  const aggregator = new ClusterAggregator(redis.asShared(), config, events, () => ({}) as never, (t) => fenced.push(t));
  aggregator.lead(7);
  await until('version 0', () => redis.head);
  const init = decodeCheckpoint(redis.checkpoints.get(0)!).state.online;
  const coords = coordinates(init);
  for (let k = 0; k < updates; k++) {
    const meta = { contributorId: `c${k}`, baseVersion: 0, examples: 1, loss: null, norm: 1, clipped: false, receivedAt: 0 };
    redis.entries.push({ streamId: `${k + 1}-0`, updateId: `u${k}`, meta: JSON.stringify(meta), delta: Buffer.from(encodeWeights(indicatorDelta(init, coords[k]))) });
  }
  /** How far update k's coordinate moved in a committed checkpoint. */
  const moved = (bytes: Uint8Array, k: number) => {
    const [name, i] = coords[k];
    return decodeCheckpoint(bytes).state.online.get(name)!.data[i] - init.get(name)!.data[i];
  };
  const done = async () => {
    for (const c of redis.commits) c.answer(-2); // unanswered after a failed assertion: let the loop end
    await aggregator.stop();
    tmp.cleanup();
  };
  return { redis, fenced, announced, moved, done };
}

describe('cluster aggregator: pipelined commits', () => {
  it('folds v+2 on top of v+1 while v+1 commits, and sends it only once v+1 is written', async () => {
    const { redis, moved, done } = await leading(2 * K);
    try {
      const v1 = await until('the commit of version 1', () => redis.commits[0]);
      expect([v1.version, v1.base, v1.cursor]).toEqual([1, 0, `${K}-0`]);
      await sleep(200); // the next buffer is in the stream: folded meanwhile, but not sent
      expect(redis.commits).toHaveLength(1);
      const writtenAt = Date.now();
      v1.answer(1);
      const v2 = await until('the commit of version 2', () => redis.commits[1]);
      expect([v2.version, v2.base, v2.cursor]).toEqual([2, 1, `${2 * K}-0`]);
      for (let k = 0; k < K; k++) expect(moved(v1.bytes, k)).toBeCloseTo(1 / K, 6);
      for (let k = K; k < 2 * K; k++) expect(moved(v1.bytes, k)).toBe(0);
      // v+2 is built on v+1: every update moved its coordinate exactly once.
      for (let k = 0; k < 2 * K; k++) expect(moved(v2.bytes, k)).toBeCloseTo(1 / K, 6);
      expect(decodeCheckpoint(v2.bytes).meta.lastStep!.at, 'v+2 was folded while v+1 was in flight').toBeLessThan(writtenAt);
      v2.answer(1);
      await until('head version 2', () => redis.head?.version === 2);
    } finally {
      await done();
    }
  });

  it('drops the folded v+2 unsent when v+1 is refused (fenced), leaving its updates in the stream', async () => {
    const { redis, fenced, moved, done } = await leading(2 * K);
    try {
      const v1 = await until('the commit of version 1', () => redis.commits[0]);
      await sleep(200);
      v1.answer(-1);
      await until('the step-down', () => fenced.length > 0);
      await sleep(200);
      expect(fenced).toEqual([7]);
      expect(redis.commits.map((c) => c.version)).toEqual([1]);
      expect(redis.head).toEqual({ version: 0, cursor: '0-0' });
      expect(moved(redis.checkpoints.get(0)!, 0)).toBe(0);
    } finally {
      await done();
    }
  });

  it('publishes the versions folded while a COMMIT was in flight in one COMMIT, with the newest checkpoint only', async () => {
    const { redis, announced, moved, done } = await leading(3 * K);
    try {
      const v1 = await until('the commit of version 1', () => redis.commits[0]);
      await sleep(200); // versions 2 and 3 are folded meanwhile
      expect(redis.commits).toHaveLength(1);
      v1.answer(1);
      const v3 = await until('the next commit', () => redis.commits[1]);
      expect([v3.version, v3.base, v3.cursor]).toEqual([3, 1, `${3 * K}-0`]);
      for (let k = 0; k < 3 * K; k++) expect(moved(v3.bytes, k)).toBeCloseTo(1 / K, 6);
      v3.answer(1);
      await until('head version 3', () => redis.head?.version === 3);
      expect(announced).toEqual([1, 2, 3]);
      expect(redis.checkpoints.has(2)).toBe(false);
      await sleep(100);
      expect(redis.commits).toHaveLength(2);
    } finally {
      await done();
    }
  });
});
