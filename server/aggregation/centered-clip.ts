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
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';
import { axpy, zerosFromSpecs } from './fold';
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

function distance(specs: readonly WeightSpec[], x: WeightMap, v: WeightMap): number {
  let s = 0;
  for (const { name } of specs) {
    const a = x.get(name)!.data;
    const b = v.get(name)!.data;
    for (let j = 0; j < a.length; j++) s += (a[j] - b[j]) ** 2;
  }
  return Math.sqrt(s);
}

export function centeredClip(specs: readonly WeightSpec[], inputs: readonly WeightMap[], center: WeightMap | null, o: CenteredClipOptions): CenteredClipResult {
  const n = inputs.length;
  if (n === 0) throw new Error('centered clipping needs at least one delta');
  if (!(Number.isInteger(o.iterations) && o.iterations >= 1)) throw new RangeError(`iterations must be an integer ≥ 1, got ${o.iterations}`);
  let v = zerosFromSpecs(specs);
  if (center) for (const [name, t] of v) t.data.set(center.get(name)!.data);
  const d0 = inputs.map((x) => distance(specs, x, v));
  const tau = o.tau ?? median(d0);
  let clipped: boolean[] = [];
  for (let l = 0; l < o.iterations; l++) {
    const dist = l === 0 ? d0 : inputs.map((x) => distance(specs, x, v));
    clipped = dist.map((d) => d > tau);
    const next = zerosFromSpecs(specs);
    for (const [name, t] of next) {
      const vv = v.get(name)!.data;
      t.data.set(vv);
      inputs.forEach((x, i) => {
        const scale = dist[i] > tau ? tau / dist[i] : 1;
        // v + scale/n · (x − v), as two axpys over Float32Arrays.
        axpy(t.data, x.get(name)!.data, scale / n);
        axpy(t.data, vv, -scale / n);
      });
    }
    v = next;
  }
  return { aggregate: v, tau, clipped };
}
