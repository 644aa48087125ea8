import { describe, expect, it } from 'vitest';
import { shard } from '../../../shared/data/shard';

// 10 classes x 300 examples, interleaved.
const labels = Uint8Array.from({ length: 3000 }, (_, i) => i % 10);

function expectPartition(shards: number[][], n: number) {
  const all = shards.flat().sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
}

/** Mean over non-empty shards of the share of the shard's most common class. */
function meanDominantShare(shards: number[][]): number {
  const shares = shards
    .filter((s) => s.length > 0)
    .map((s) => {
      const counts = new Array(10).fill(0);
      for (const i of s) counts[labels[i]]++;
      return Math.max(...counts) / s.length;
    });
  return shares.reduce((a, b) => a + b, 0) / shares.length;
}

describe('shard', () => {
  it('iid: partitions all indices into near-equal shards, deterministically', () => {
    const s = shard(labels, 7, { mode: 'iid', seed: 1 });
    expect(s).toHaveLength(7);
    expectPartition(s, labels.length);
    const sizes = s.map((x) => x.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(shard(labels, 7, { mode: 'iid', seed: 1 })).toEqual(s);
    expect(shard(labels, 7, { mode: 'iid', seed: 2 })).not.toEqual(s);
    expect(meanDominantShare(s)).toBeLessThan(0.2);
  });

  it('dirichlet: partitions all indices, deterministically', () => {
    for (const alpha of [0.05, 0.5, 100]) {
      const s = shard(labels, 10, { mode: 'dirichlet', alpha, seed: 3 });
      expect(s).toHaveLength(10);
      expectPartition(s, labels.length);
      expect(shard(labels, 10, { mode: 'dirichlet', alpha, seed: 3 })).toEqual(s);
    }
  });

  it('dirichlet: small alpha skews the label mix, large alpha is close to iid', () => {
    const skewed = meanDominantShare(shard(labels, 10, { mode: 'dirichlet', alpha: 0.1, seed: 4 }));
    const mild = meanDominantShare(shard(labels, 10, { mode: 'dirichlet', alpha: 1000, seed: 4 }));
    expect(skewed).toBeGreaterThan(0.5);
    expect(mild).toBeLessThan(0.2);
  });

  it('rejects bad arguments', () => {
    expect(() => shard(labels, 0, { mode: 'iid', seed: 0 })).toThrow(/positive integer/);
    expect(() => shard(labels, 2, { mode: 'dirichlet', seed: 0 })).toThrow(/alpha > 0/);
    expect(() => shard([0, -1], 2, { mode: 'dirichlet', alpha: 1, seed: 0 })).toThrow(/not a class id/);
  });
});
