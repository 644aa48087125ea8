/**
 * Glimpse's one named evaluation protocol, "glimpse-fmnist-v1": how every encoder number in this
 * project is measured, so numbers from `npm start`, the server, the benchmarks and the PyTorch
 * peer (bench/peers/torch_ssl.py, which implements the same protocol) can be put side by side.
 *
 *   - kNN top-1: k = 20, cosine similarity, votes weighted exp(s / 0.07) (Wu et al. 2018, §3.4;
 *     the monitor of solo-learn, da Costa et al. 2022), bank = the 60k training images, queries =
 *     the 10k test images.
 *   - Linear probe on frozen features with 1% and 10% of the training labels (seeded label subsets
 *     of the bank, three seeds averaged), scored on the queries: label efficiency is what
 *     self-supervised pretraining is for (Chen et al. 2020, SimCLR §4 / Table 7 semi-supervised).
 *   - Always beside the same probes on raw pixels and on the random-init encoder, on the same
 *     split: the two bars a pretrained encoder has to clear.
 *
 * A run that uses a subset for speed (the server's periodic evaluation, tests, learning curves)
 * says so: {@link describeSplit} is printed with every number.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { mulberry32, permutation } from '../data/rng';
import { embedAll } from './embed';
import type { EvalSet } from './evaluate';
import { embeddingStd } from './evaluate';
import { accuracy, knnPredict } from './knn';
import { linearProbe } from './linear-probe';

export const PROTOCOL = Object.freeze({
  name: 'glimpse-fmnist-v1',
  k: 20,
  temperature: 0.07,
  bank: 60_000,
  queries: 10_000,
  /** Fractions of the bank's labels the linear probes train on. */
  labelFractions: Object.freeze([0.01, 0.1]) as readonly number[],
  /** Label-subset seeds per fraction; the probe's accuracy is their mean. */
  probeSeeds: Object.freeze([1, 2, 3]) as readonly number[],
});

/** Which images a number was measured on. `subset` is true unless it is the full 60k / 10k. */
export interface ProtocolSplit {
  protocol: string;
  bank: number;
  queries: number;
  subset: boolean;
  /** Where the images came from, e.g. 'Fashion-MNIST (60000 train / 10000 test)'. */
  source: string;
}

export function splitOf(set: EvalSet, source: string): ProtocolSplit {
  return {
    protocol: PROTOCOL.name, bank: set.train.count, queries: set.test.count, source,
    subset: set.train.count < PROTOCOL.bank || set.test.count < PROTOCOL.queries,
  };
}

/** "full protocol glimpse-fmnist-v1: 60,000 bank / 10,000 queries" or "SUBSET 5,000 bank / 1,000 queries …". */
export function describeSplit(s: ProtocolSplit): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return s.subset
    ? `SUBSET of ${s.protocol} (${n(s.bank)} bank / ${n(s.queries)} queries, not the full ${n(PROTOCOL.bank)} / ${n(PROTOCOL.queries)}; ${s.source})`
    : `full protocol ${s.protocol} (${n(s.bank)} bank / ${n(s.queries)} queries; ${s.source})`;
}

/** Scores of one feature extractor. Linear-probe keys are present only when probes were run. */
export interface ProbeScores {
  knn_top1: number;
  linear_1pct?: number;
  linear_10pct?: number;
}

export interface ProbeOptions {
  /** Run the 1% / 10% linear probes (seconds on 512-d features). Default true. */
  linear?: boolean;
  /** Receives the kNN's predicted class per query, e.g. to pair it with raw pixels' (./paired.ts). */
  onKnnPredictions?: (predictions: Int32Array) => void;
}

/** A seeded subset of `fraction` of the bank's rows (at least one per class present is not forced). */
export function labelSubset(bankCount: number, fraction: number, seed: number): Int32Array {
  const n = Math.max(1, Math.round(bankCount * fraction));
  return permutation(bankCount, mulberry32(seed)).subarray(0, n).sort();
}

function gatherRows(x: Float32Array, dim: number, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

/** The protocol's probes on precomputed features (`[bank, dim]`, `[queries, dim]`). */
export function probeFeatures(trainEmb: Float32Array, testEmb: Float32Array, dim: number, set: EvalSet, o: ProbeOptions = {}): ProbeScores {
  const common = { trainLabels: set.train.labels, testEmb, testLabels: set.test.labels, dim, numClasses: set.numClasses };
  const predictions = knnPredict({ ...common, trainEmb, k: PROTOCOL.k, temperature: PROTOCOL.temperature });
  o.onKnnPredictions?.(predictions);
  const scores: ProbeScores = { knn_top1: accuracy(predictions, set.test.labels) };
  if (o.linear === false) return scores;
  const [one, ten] = PROTOCOL.labelFractions.map((fraction) => {
    let sum = 0;
    for (const seed of PROTOCOL.probeSeeds) {
      const rows = labelSubset(set.train.count, fraction, seed);
      // ≥ 200 Adam steps whatever the subset size: 600 labels would otherwise get 30.
      const epochs = Math.max(10, Math.ceil(200 / Math.ceil(rows.length / 256)));
      sum += linearProbe({
        ...common, trainEmb: gatherRows(trainEmb, dim, rows), trainLabels: Array.from(rows, (r) => set.train.labels[r]),
        epochs, weightDecay: 1e-4, seed,
      }).accuracy;
    }
    return sum / PROTOCOL.probeSeeds.length;
  });
  return { ...scores, linear_1pct: one, linear_10pct: ten };
}

/** The encoder's probes plus the collapse check (embedding std of the queries). */
export function probeEncoder(encoder: LayersModel, set: EvalSet, o: ProbeOptions = {}): ProbeScores & { embedding_std: number } {
  const trainEmb = embedAll(encoder, set.train.images, set.train.count, set.size, set.channels);
  const testEmb = embedAll(encoder, set.test.images, set.test.count, set.size, set.channels);
  const dim = trainEmb.length / set.train.count;
  return { ...probeFeatures(trainEmb, testEmb, dim, set, o), embedding_std: embeddingStd(testEmb, dim) };
}

/**
 * Raw pixels as features: the model input itself. For a grayscale set shown as tiled RGB only the
 * first channel is kept — the cosine between tiled images equals that of their gray channel, at a
 * third of the cost.
 */
export function probeRawPixels(set: EvalSet, o: ProbeOptions = {}): ProbeScores {
  const pixels = (x: Float32Array, n: number) => {
    if (!set.grayscale || set.channels === 1) return x;
    const per = set.size * set.size;
    const out = new Float32Array(n * per);
    for (let i = 0; i < n * per; i++) out[i] = x[i * set.channels];
    return out;
  };
  const train = pixels(set.train.images, set.train.count);
  return probeFeatures(train, pixels(set.test.images, set.test.count), train.length / set.train.count, set, o);
}

/** Baseline scores measured once per split and reused for every evaluation on it. */
export interface Baselines {
  rawPixels: ProbeScores;
  randomInit: ProbeScores;
}

/** Flat metric record: the encoder's keys, each baseline under `<key>_raw_pixels` / `<key>_random_init`. */
export function withBaselines(encoder: ProbeScores & { embedding_std?: number }, b: Baselines): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(encoder)) if (typeof v === 'number') out[k] = v;
  for (const [k, v] of Object.entries(b.rawPixels)) if (typeof v === 'number') out[`${k}_raw_pixels`] = v;
  for (const [k, v] of Object.entries(b.randomInit)) if (typeof v === 'number') out[`${k}_random_init`] = v;
  return out;
}

const pct = (v: number | undefined) => (v === undefined ? '—' : `${(v * 100).toFixed(1)}%`);

/**
 * One line per evaluation: encoder vs random init vs raw pixels for each probe run, e.g.
 * "kNN 80.1% (random init 70.2%, raw pixels 78.0%) · 1% labels 66.0% (…) · 10% labels …".
 */
export function formatScores(m: Record<string, number>): string {
  const parts: string[] = [];
  for (const [key, label] of [['knn_top1', 'kNN'], ['linear_1pct', '1% labels'], ['linear_10pct', '10% labels']] as const) {
    if (m[key] === undefined && m[`${key}_raw_pixels`] === undefined) continue;
    parts.push(`${label} ${pct(m[key])} (random init ${pct(m[`${key}_random_init`])}, raw pixels ${pct(m[`${key}_raw_pixels`])})`);
  }
  return parts.join(' · ');
}

/** Where the encoder's kNN stands against the two bars, in words (npm start's final line). */
export function standing(m: Record<string, number>): string {
  const [e, r, p] = [m.knn_top1, m.knn_top1_random_init, m.knn_top1_raw_pixels];
  if (e === undefined) return 'not evaluated yet';
  const pts = (a: number, b: number) => `${((a - b) * 100) >= 0 ? '+' : ''}${((a - b) * 100).toFixed(1)} points`;
  // The paired z (./paired.ts), where the evaluation measured it: whether the gap is more than noise.
  const z = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? undefined : `paired z ${v.toFixed(1)}`);
  const [zr, zp] = [z(m.vs_random_init_z), z(m.vs_raw_pixels_z)];
  const vsRandom = r === undefined ? '' : `${e >= r ? `${pts(e, r)} over` : `${((r - e) * 100).toFixed(1)} points under`} random init${zr ? ` (${zr})` : ''}`;
  const vsPixels = p === undefined ? '' : `${e > p ? 'above' : 'below'} raw pixels (${pts(e, p)}${zp ? `, ${zp}` : ''})`;
  return [vsRandom, vsPixels].filter(Boolean).join(', ');
}
