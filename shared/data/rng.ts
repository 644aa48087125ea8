/**
 * Seeded randomness for data handling: epoch orders, shards, fixture subsets.
 *
 * Everything that decides *which* examples a client sees is drawn here from an explicit seed, so a
 * federated run is reproducible from its config alone. `Math.random` is never used.
 *
 * (`shared/augment/rng.ts` carries the same mulberry32 for augmentation parameters; both produce
 * identical streams for identical seeds.)
 */

/** A stream of uniform floats in `[0, 1)`. */
export type Rand = () => number;

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state PRNG, small and fast. The same
 * `seed` always yields the same stream; it is not cryptographic and does not need to be.
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

/** Fisher–Yates shuffle of `arr` in place, driven by `rand`. Returns `arr`. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(arr: T, rand: Rand): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = arr[i];
    arr[i] = arr[j];
    arr[j] = t;
  }
  return arr;
}

/** A uniformly random permutation of `0 .. n-1`. */
export function permutation(n: number, rand: Rand): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffleInPlace(p, rand);
}

/** A standard normal draw (Box–Muller; the second variate is discarded to keep the stream simple). */
export function randomNormal(rand: Rand): number {
  // 1 - u keeps the argument of log in (0, 1].
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * log of a Gamma(shape, 1) draw.
 *
 * Marsaglia & Tsang (2000), "A Simple Method for Generating Gamma Variables", for shape >= 1;
 * for shape < 1 their boost `G(a) = G(a + 1) · U^(1/a)`. The log is returned because with small
 * shapes (Dirichlet α = 0.01) `U^(1/a)` underflows to 0 in float64, while its log does not.
 */
export function randomLogGamma(shape: number, rand: Rand): number {
  if (!(shape > 0)) throw new Error(`randomLogGamma: shape must be > 0, got ${shape}`);
  if (shape < 1) {
    const u = 1 - rand();
    return randomLogGamma(shape + 1, rand) + Math.log(u) / shape;
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = randomNormal(rand);
    const t = 1 + c * x;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = 1 - rand();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return Math.log(d * v);
  }
}

/**
 * A draw from the symmetric Dirichlet(α, …, α) over `n` categories: normalised Gamma(α) draws,
 * computed as a softmax of log-gammas so that tiny α yields a (near) one-hot vector, not NaNs.
 */
export function randomDirichlet(alpha: number, n: number, rand: Rand): number[] {
  const logs = Array.from({ length: n }, () => randomLogGamma(alpha, rand));
  const max = Math.max(...logs);
  const w = logs.map((l) => Math.exp(l - max));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / sum);
}
