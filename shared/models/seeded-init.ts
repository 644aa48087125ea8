/**
 * Reproducible weight initialisation. tfjs's initialisers (heNormal, glorotUniform, …) draw their
 * own seed from `Math.random()` when none is given (tfjs-core ops/rand_util.ts), one draw per
 * weight. Seeding that stream for the duration of a synchronous model build therefore gives every
 * weight its own deterministic seed — different for two layers of the same shape, identical
 * across runs and machines — without threading a seed through every layer of every method.
 */
import { mulberry32 } from '../data/rng';

/**
 * Runs `build` with `Math.random` replaced by a generator seeded with `seed` (restored after,
 * even on a throw). `seed` undefined: `build` runs unchanged. `build` must be synchronous —
 * nothing else may draw from `Math.random` while it runs.
 */
export function withSeededInit<T>(seed: number | undefined, build: () => T): T {
  if (seed === undefined) return build();
  if (!Number.isInteger(seed)) throw new Error(`the init seed must be an integer, got ${seed}`);
  const original = Math.random;
  const next = mulberry32(seed);
  // rand_util treats a seed of 0 as "none"; mulberry32 can return exactly 0.
  Math.random = () => next() || Number.EPSILON;
  try {
    const out = build();
    if (out !== null && typeof out === 'object' && typeof (out as { then?: unknown }).then === 'function') {
      throw new Error('withSeededInit: build must be synchronous');
    }
    return out;
  } finally {
    Math.random = original;
  }
}
