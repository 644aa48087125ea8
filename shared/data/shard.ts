/**
 * Splitting a labelled dataset across simulated federated clients.
 */
import { mulberry32, permutation, randomDirichlet } from './rng';

export interface ShardOptions {
  /**
   * `iid`: a random split into near-equal shards.
   * `dirichlet`: label skew — for every class, the share each shard gets is drawn from
   * Dirichlet(α, …, α) (Hsu, Qi & Brown 2019, "Measuring the Effects of Non-Identical Data
   * Distribution for Federated Visual Classification"). Small α → each shard holds few classes;
   * large α → close to iid. Shard sizes vary, and with small α a shard can be empty.
   */
  mode: 'iid' | 'dirichlet';
  /** Concentration for `dirichlet` (> 0); ignored for `iid`. */
  alpha?: number;
  seed: number;
}

/**
 * Partitions the indices `0 .. labels.length-1` into `n` shards. Every index lands in exactly one
 * shard; each shard's list is sorted ascending. Deterministic in `seed`.
 *
 * @param labels `[N]` class ids (non-negative integers).
 * @returns `n` index lists.
 */
export function shard(labels: ArrayLike<number>, n: number, opts: ShardOptions): number[][] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`shard: n must be a positive integer, got ${n}`);
  const rand = mulberry32(opts.seed);
  const shards: number[][] = Array.from({ length: n }, () => []);
  if (opts.mode === 'iid') {
    const perm = permutation(labels.length, rand);
    // Contiguous cuts of a random order: sizes differ by at most one.
    for (let s = 0; s < n; s++) {
      const from = Math.floor((s * perm.length) / n);
      const to = Math.floor(((s + 1) * perm.length) / n);
      for (let i = from; i < to; i++) shards[s].push(perm[i]);
    }
  } else if (opts.mode === 'dirichlet') {
    const alpha = opts.alpha;
    if (alpha === undefined || !(alpha > 0)) throw new Error(`shard: dirichlet mode needs alpha > 0, got ${alpha}`);
    const byClass: number[][] = [];
    for (let i = 0; i < labels.length; i++) {
      const c = labels[i];
      if (!Number.isInteger(c) || c < 0) throw new Error(`shard: label ${c} at index ${i} is not a class id`);
      (byClass[c] ??= []).push(i);
    }
    for (const members of byClass) {
      if (members === undefined) continue; // a class id with no examples
      const perm = permutation(members.length, rand);
      const p = randomDirichlet(alpha, n, rand);
      // Cut the shuffled class at the cumulative proportions; rounding the cumulative sum
      // (not each share) guarantees the pieces add up to the whole class.
      let cum = 0;
      let from = 0;
      for (let s = 0; s < n; s++) {
        cum += p[s];
        const to = s === n - 1 ? members.length : Math.round(cum * members.length);
        for (let i = from; i < to; i++) shards[s].push(members[perm[i]]);
        from = Math.max(from, to);
      }
    }
  } else {
    throw new Error(`shard: unknown mode ${(opts as { mode: string }).mode}`);
  }
  for (const s of shards) s.sort((a, b) => a - b);
  return shards;
}
