/**
 * DP-FedAvg on the server (McMahan, Ramage, Talwar & Zhang 2018, "Learning Differentially Private
 * Recurrent Language Models", ICLR), client-level:
 *
 *   Δ̄ = ( Σ_c clip_C(Δ_c) + N(0, σ²C²·I) ) / K,     clip_C(z) = z · min(1, C/‖z‖₂)
 *
 * Δ_c is one contributor's update in this step (several updates of one contributor are averaged
 * first, so adding or removing a contributor changes the sum by at most C: the sensitivity). K is
 * the buffer size, a fixed denominator (the paper's W): dividing by the count actually folded
 * would make the scale depend on who took part. σ is the noise multiplier; the privacy cost of
 * each step is accounted in rdp-accountant.ts. The noise source is the caller's: crypto-random
 * normals on a server, a seeded stream in tests.
 */
import { randomFillSync } from 'node:crypto';
import type { WeightMap, WeightSpec } from '../../shared/weights/weight-map';
import { l2NormOf, scaled, weightedSum } from './fold';

export interface DpConfig {
  /** C: every contributor's update in a step is clipped to this L2 norm. */
  clip: number;
  /** σ: the noise's standard deviation is σ·C on the sum. */
  noiseMultiplier: number;
  /** δ at which ε is reported. */
  delta: number;
}

/** z scaled to norm ≤ C (unchanged when already within). */
export function clipToNorm(z: WeightMap, c: number): { value: WeightMap; norm: number; clipped: boolean } {
  const norm = l2NormOf(z);
  return norm > c ? { value: scaled(z, c / norm), norm, clipped: true } : { value: z, norm, clipped: false };
}

/** A standard normal sampler (Box–Muller) over uniform draws in (0, 1]. */
export function normalSampler(uniform: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u1 = 1 - uniform(); // (0, 1]: log never sees 0
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}

/** Uniform draws in [0, 1) from the OS's cryptographic generator (noise an attacker cannot predict). */
export function cryptoUniform(): () => number {
  const buf = new Uint32Array(1024);
  let i = buf.length;
  return () => {
    if (i === buf.length) {
      randomFillSync(buf);
      i = 0;
    }
    return buf[i++] / 4294967296;
  };
}

export interface DpAggregate {
  aggregate: WeightMap;
  /** Per input: its norm exceeded C. */
  clipped: boolean[];
}

/** (Σ clip_C(x_i) + N(0, σ²C²)) / K over the per-contributor inputs. */
export function dpAggregate(specs: readonly WeightSpec[], inputs: readonly WeightMap[], c: DpConfig, denominator: number, normal: () => number): DpAggregate {
  if (!(denominator >= inputs.length && denominator >= 1)) throw new RangeError(`the DP denominator (${denominator}) must be ≥ the number of contributors (${inputs.length})`);
  const clippedInputs = inputs.map((x) => clipToNorm(x, c.clip));
  const sum = weightedSum(specs, clippedInputs.map((x) => ({ delta: x.value, weight: 1 })));
  const std = c.noiseMultiplier * c.clip;
  for (const t of sum.values()) {
    for (let j = 0; j < t.data.length; j++) t.data[j] = (t.data[j] + std * normal()) / denominator;
  }
  return { aggregate: sum, clipped: clippedInputs.map((x) => x.clipped) };
}
