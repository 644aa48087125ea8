/**
 * Centered clipping (Karimireddy, He & Jaggi 2021, "Learning from History for Byzantine Robust
 * Optimization", ICML), starting from the previous aggregate v₀:
 *
 *   v_{l+1} = v_l + 1/n · Σ_i clip_τ(x_i − v_l),   clip_τ(z) = z · min(1, τ/‖z‖₂)
 *
 * An input far from the centre moves the result by at most τ/n, however large it is, while
 * inputs within τ are averaged exactly. The centre is the last step's aggregate (momentum: honest
 * updates change slowly between steps). τ, when not fixed, is the median distance ‖x_i − v₀‖ of
 * the inputs (so with fewer than half of the inputs hostile it is set by honest ones). One
 * iteration is what the paper uses with momentum; more move v toward the inliers' mean.
 */
import { isSparse, type WeightMap, type WeightSpec } from '../../shared/weights/weight-map';
import { addScaled, squaredDistance, squaresOf, toCombination, type Combination } from './combination';
import { zerosFromSpecs } from './fold';
import { median } from './validate';

export interface CenteredClipOptions {
  /** Clipping radius; null = the median distance of the inputs from the centre. */
  tau: number | null;
  iterations: number;
}

export interface CenteredClipResult {
  aggregate: WeightMap;
  tau: number;
  /** Per input: ‖x_i − v‖ > τ in the last iteration (it was clipped). */
  clipped: boolean[];
}

/** ‖x − v‖; a sparse tensor of x costs O(kept values): ‖v‖² + Σ_kept ((x_j − v_j)² − v_j²). */
function mapDistance(specs: readonly WeightSpec[], x: WeightMap, v: WeightMap, vSquares: Map<string, number>): number {
  let s = 0;
  for (const { name } of specs) {
    const t = x.get(name)!;
    const b = v.get(name)!.data;
    if (isSparse(t)) {
      let d = vSquares.get(name)!;
      const { nz, values } = t;
      for (let k = 0; k < nz.length; k++) {
        const bj = b[nz[k]];
        d += (values[k] - bj) ** 2 - bj * bj;
      }
      s += Math.max(0, d);
      continue;
    }
    const a = t.data;
    for (let j = 0; j < a.length; j++) s += (a[j] - b[j]) ** 2;
  }
  return Math.sqrt(s);
}

/** ‖c − v‖ of a combination (a bucket's mean, kept as its terms); a lone delta of weight 1 as before. */
function distance(specs: readonly WeightSpec[], c: Combination, v: WeightMap, vSquares: Map<string, number>): number {
  if (c.terms.length === 1 && c.terms[0].w === 1) return mapDistance(specs, c.terms[0].x, v, vSquares);
  return Math.sqrt(Math.max(0, squaredDistance(c, v, vSquares)));
}

/** Inputs are deltas or combinations of them (bucket means kept as their terms, combination.ts). */
export function centeredClip(specs: readonly WeightSpec[], inputMaps: ReadonlyArray<WeightMap | Combination>, center: WeightMap | null, o: CenteredClipOptions): CenteredClipResult {
  const inputs = inputMaps.map(toCombination);
  const n = inputs.length;
  if (n === 0) throw new Error('centered clipping needs at least one delta');
  if (!(Number.isInteger(o.iterations) && o.iterations >= 1)) throw new RangeError(`iterations must be an integer ≥ 1, got ${o.iterations}`);
  let v = zerosFromSpecs(specs);
  if (center) for (const [name, t] of v) t.data.set(center.get(name)!.data);
  const v0Squares = squaresOf(v);
  const d0 = inputs.map((x) => distance(specs, x, v, v0Squares));
  const tau = o.tau ?? median(d0);
  let clipped: boolean[] = [];
  for (let l = 0; l < o.iterations; l++) {
    const vSquares = l === 0 ? v0Squares : squaresOf(v);
    const dist = l === 0 ? d0 : inputs.map((x) => distance(specs, x, v, vSquares));
    clipped = dist.map((d) => d > tau);
    const scales = dist.map((d) => (d > tau ? tau / d : 1));
    // v + 1/n·Σ scale_i·(x_i − v) = (1 − Σ scale_i/n)·v + Σ (scale_i/n)·x_i: one pass over v,
    // then each input added (from its kept values alone when it is sparse).
    const keep = 1 - scales.reduce((a, b) => a + b, 0) / n;
    const next = zerosFromSpecs(specs);
    for (const [name, t] of next) {
      const vv = v.get(name)!.data;
      for (let j = 0; j < vv.length; j++) t.data[j] = keep * vv[j];
    }
    inputs.forEach((x, i) => addScaled(next, x, scales[i] / n));
    v = next;
  }
  return { aggregate: v, tau, clipped };
}
