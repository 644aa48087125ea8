/**
 * Evaluating an encoder the way the field does: weighted kNN on frozen embeddings (Wu et al.
 * 2018), a linear probe, and the raw-pixel kNN baseline, on one labelled train/test split.
 * Used by the pretraining script, the server's periodic evaluation and the benchmarks.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { LabeledImages } from '../data/idx';
import { selectImages, toModelInput } from '../data/images';
import { mulberry32, permutation } from '../data/rng';
import { embedAll } from './embed';
import { knnAccuracy } from './knn';
import { linearProbe } from './linear-probe';
import { rawPixelKnnAccuracy } from './raw-pixel';

/** Model-ready images of one split. images [count, size, size, channels] in [0, 1]. */
export interface EvalSplit {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

export interface EvalSet {
  train: EvalSplit;
  test: EvalSplit;
  size: number;
  channels: number;
  numClasses: number;
  /** Gray images shown as tiled RGB (Fashion-MNIST): every channel holds the same value. */
  grayscale?: boolean;
}

/** A seeded random subset of `data` (all of it when `count` ≥ its size), converted to model input. */
export function evalSplit(data: LabeledImages, count: number, size: number, seed: number): EvalSplit {
  const n = Math.min(count, data.count);
  const subset = selectImages(data, permutation(data.count, mulberry32(seed)).subarray(0, n).sort());
  return { images: toModelInput(subset.images, n, data.height, data.width, size), labels: subset.labels, count: n };
}

export function makeEvalSet(train: LabeledImages, test: LabeledImages, o: { trainCount: number; testCount: number; size?: number; seed?: number }): EvalSet {
  const size = o.size ?? 32;
  return {
    train: evalSplit(train, o.trainCount, size, o.seed ?? 1),
    test: evalSplit(test, o.testCount, size, (o.seed ?? 1) + 1),
    size,
    channels: 3,
    numClasses: 10,
    // LabeledImages are single-channel; toModelInput tiles them to RGB.
    grayscale: true,
  };
}

export interface EncoderScores {
  knn: number;
  linear?: number;
}

export function evaluateEncoder(encoder: LayersModel, set: EvalSet, o: { linear?: boolean } = {}): EncoderScores {
  const trainEmb = embedAll(encoder, set.train.images, set.train.count, set.size, set.channels);
  const testEmb = embedAll(encoder, set.test.images, set.test.count, set.size, set.channels);
  const dim = trainEmb.length / set.train.count;
  const common = { trainEmb, trainLabels: set.train.labels, testEmb, dim, numClasses: set.numClasses };
  const knn = knnAccuracy({ ...common, testLabels: set.test.labels });
  if (!o.linear) return { knn };
  const linear = linearProbe({ ...common, testLabels: set.test.labels }).accuracy;
  return { knn, linear };
}

export function rawPixelBaseline(set: EvalSet): number {
  return rawPixelKnnAccuracy({
    trainImages: set.train.images, trainLabels: set.train.labels, trainCount: set.train.count,
    testImages: set.test.images, testLabels: set.test.labels, testCount: set.test.count,
    numClasses: set.numClasses,
  });
}

/**
 * Representation-collapse check: the mean per-dimension standard deviation of L2-normalised
 * embeddings (BYOL/SimSiam's diagnostic, Chen & He 2021 §4.1). ≈ 1/√d when spread out, → 0 when
 * collapsed to a point.
 */
export function embeddingStd(emb: Float32Array, dim: number): number {
  const n = emb.length / dim;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += emb[i * dim + j] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < dim; j++) {
      const v = emb[i * dim + j] / norm;
      mean[j] += v;
      sq[j] += v * v;
    }
  }
  let total = 0;
  for (let j = 0; j < dim; j++) total += Math.sqrt(Math.max(0, sq[j] / n - (mean[j] / n) ** 2));
  return total / dim;
}
