/**
 * Seeded randomness for augmentations.
 *
 * Every per-image parameter (crop box, flip coin, jitter factors, blur sigma, ...) is drawn on the
 * JS side from this generator, so an augmentation is a pure function of `(images, params, seed)`
 * and gives the same views on every tfjs backend. Only `batch`-sized arrays are drawn, never
 * per-pixel noise.
 */

// One seeded generator for the whole project (mulberry32): augmentations, data order and shards
// draw from the same algorithm, so a seed means the same thing everywhere.
import { mulberry32, type Rand } from '../data/rng';

export { mulberry32, type Rand };

/** Uniform float in `[lo, hi)`. */
export function uniform(rand: Rand, lo: number, hi: number): number {
  return lo + (hi - lo) * rand();
}

/** Uniform integer in `[lo, hi]` (both inclusive). */
export function randInt(rand: Rand, lo: number, hi: number): number {
  return lo + Math.min(hi - lo, Math.floor(rand() * (hi - lo + 1)));
}

/** One coin per image: `true` with probability `p`. Always draws `batch` numbers, whatever `p`. */
export function bernoulli(rand: Rand, batch: number, p: number): boolean[] {
  return Array.from({ length: batch }, () => rand() < p);
}

/**
 * A child seed for a named stage, so that the pipeline's stages draw from independent streams
 * and changing one stage's probability does not reshuffle the others.
 */
export function deriveSeed(seed: number, stage: number): number {
  return Math.floor(mulberry32((seed >>> 0) ^ Math.imul(stage + 1, 0x9e3779b9))() * 4294967296);
}
