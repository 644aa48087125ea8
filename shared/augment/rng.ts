/**
 * Seeded randomness for augmentations.
 *
 * Every per-image parameter (crop box, flip coin, jitter factors, blur sigma, ...) is drawn on the
 * JS side from this generator, so an augmentation is a pure function of `(images, params, seed)`
 * and gives the same views on every tfjs backend. Only `batch`-sized arrays are drawn, never
 * per-pixel noise.
 */

/** A stream of uniform floats in `[0, 1)`. */
export type Rand = () => number;

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state PRNG, small and fast, plenty for
 * drawing augmentation parameters. The same `seed` always yields the same stream.
 */
export function mulberry32(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
