/**
 * The permutation set of the jigsaw task, by Noroozi & Favaro 2016 ("Unsupervised Learning of
 * Visual Representations by Solving Jigsaw Puzzles"), §3.2 / Algorithm 1: start from a random
 * permutation of the 9 tiles, then repeatedly add the remaining permutation of 9! whose Hamming
 * distance to the already chosen ones is largest. The paper's algorithm scores a candidate by the
 * *sum* of its distances to the chosen set ('mean' here); 'min' scores it by the distance to its
 * nearest chosen permutation (ties by the sum), which guarantees a larger minimum distance.
 * Ties go to the lowest index in lexicographic order, and the first pick comes from a seeded
 * PRNG, so the set is a pure function of (count, seed, criterion).
 */
import { mulberry32 } from '../data/rng';

export type PermutationCriterion = 'mean' | 'min';

const TILES = 9;

/** All 9! permutations of 0..8 in lexicographic order, [9!·9] uint8. */
function allPermutations(n = TILES): Uint8Array {
  let total = 1;
  for (let i = 2; i <= n; i++) total *= i;
  const out = new Uint8Array(total * n);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let r = 0; r < total; r++) {
    out.set(p, r * n);
    // Next lexicographic permutation (Narayana Pandita).
    let i = n - 2;
    while (i >= 0 && p[i] > p[i + 1]) i--;
    if (i < 0) break;
    let j = n - 1;
    while (p[j] < p[i]) j--;
    [p[i], p[j]] = [p[j], p[i]];
    for (let a = i + 1, b = n - 1; a < b; a++, b--) [p[a], p[b]] = [p[b], p[a]];
  }
  return out;
}

/** Number of positions where two permutations differ. */
export function hamming(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d;
}

const cache = new Map<string, number[][]>();

/**
 * `count` permutations of the 9 tiles chosen greedily for maximal Hamming distance.
 * @returns count arrays of length 9; entry i of a permutation is the grid cell shown at position i.
 */
export function jigsawPermutations(count: number, seed = 0, criterion: PermutationCriterion = 'mean'): number[][] {
  const key = `${count}/${seed}/${criterion}`;
  const hit = cache.get(key);
  if (hit) return hit.map((p) => [...p]);
  const all = allPermutations();
  const total = all.length / TILES;
  if (!(Number.isInteger(count) && count >= 1 && count <= total)) throw new Error(`jigsaw: permutation count must be in 1..${total}, got ${count}`);
  const sum = new Int32Array(total);
  const min = new Int32Array(total).fill(TILES + 1);
  const taken = new Uint8Array(total);
  const chosen: number[][] = [];
  let j = Math.floor(mulberry32(seed)() * total);
  for (;;) {
    taken[j] = 1;
    const pj = all.subarray(j * TILES, (j + 1) * TILES);
    chosen.push(Array.from(pj));
    if (chosen.length === count) break;
    let best = -1;
    let bestMin = -1;
    let bestSum = -1;
    for (let k = 0; k < total; k++) {
      if (taken[k]) continue;
      let d = 0;
      const o = k * TILES;
      for (let i = 0; i < TILES; i++) if (all[o + i] !== pj[i]) d++;
      sum[k] += d;
      if (d < min[k]) min[k] = d;
      const better =
        criterion === 'mean'
          ? sum[k] > bestSum
          : min[k] > bestMin || (min[k] === bestMin && sum[k] > bestSum);
      if (better) {
        best = k;
        bestMin = min[k];
        bestSum = sum[k];
      }
    }
    j = best;
  }
  cache.set(key, chosen);
  return chosen.map((p) => [...p]);
}

/** Minimum and mean pairwise Hamming distance of a permutation set (the paper's Table 3 columns). */
export function hammingStats(perms: number[][]): { min: number; mean: number } {
  let min = Infinity;
  let total = 0;
  let pairs = 0;
  for (let a = 0; a < perms.length; a++) {
    for (let b = a + 1; b < perms.length; b++) {
      const d = hamming(perms[a], perms[b]);
      min = Math.min(min, d);
      total += d;
      pairs++;
    }
  }
  return { min, mean: pairs ? total / pairs : 0 };
}
