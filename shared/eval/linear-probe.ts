/**
 * Linear evaluation of frozen embeddings: multinomial logistic regression trained with Adam on
 * mini-batches, the usual protocol for self-supervised encoders (e.g. Chen et al. 2020, SimCLR,
 * §B.6 "linear evaluation"), here kept small enough to run in seconds on a CPU.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients. tfjs-layers registers all of them on import, in its
// Node bundle and its ESM build alike; the deep import '@tensorflow/tfjs-core/dist/register_all_gradients'
// only resolves under bundlers, not in Node's ESM loader (tsx), so it is not used.
import '@tensorflow/tfjs-layers';
import { mulberry32, permutation } from '../data/rng';
import { accuracy } from './knn';

export interface LinearProbeOptions {
  /**
   * Feature preprocessing, fitted on the train set only. `standardize`: per-dimension zero mean,
   * unit variance (default; makes one learning rate fit any encoder's output scale). `l2`: unit
   * L2 norm per row, the geometry kNN uses. `none`: as given.
   */
  normalize?: 'standardize' | 'l2' | 'none';
  /** Passes over the train set. Default 10. */
  epochs?: number;
  /** Default 256. */
  batchSize?: number;
  /** Adam step size. Default 0.01. */
  learningRate?: number;
  /** L2 penalty on the weights (not the bias), added to the mean cross-entropy. Default 0. */
  weightDecay?: number;
  /** Seeds the mini-batch order; the weights start at zero, so this is the only randomness. */
  seed?: number;
}

export interface LinearProbeInputs extends LinearProbeOptions {
  /** `[nTrain, dim]` row-major. */
  trainEmb: Float32Array;
  trainLabels: ArrayLike<number>;
  /** `[nTest, dim]` row-major. */
  testEmb: Float32Array;
  testLabels: ArrayLike<number>;
  dim: number;
  numClasses: number;
}

export interface LinearProbeResult {
  /** Test accuracy in `[0, 1]`. */
  accuracy: number;
  trainAccuracy: number;
  /** Mean cross-entropy of the last epoch's batches. */
  finalLoss: number;
}

/**
 * Trains `softmax(x W + b)` on the train embeddings and reports test accuracy. Deterministic for
 * a given seed on a given backend; leaves no tensors behind.
 */
export function linearProbe(inp: LinearProbeInputs): LinearProbeResult {
  const { dim, numClasses } = inp;
  const epochs = inp.epochs ?? 10;
  const batchSize = inp.batchSize ?? 256;
  const weightDecay = inp.weightDecay ?? 0;
  const nTrain = inp.trainEmb.length / dim;
  const nTest = inp.testEmb.length / dim;
  if (!Number.isInteger(nTrain) || !Number.isInteger(nTest)) throw new Error(`linearProbe: lengths not multiples of dim ${dim}`);
  if (inp.trainLabels.length !== nTrain || inp.testLabels.length !== nTest) {
    throw new Error(`linearProbe: ${nTrain}/${nTest} rows but ${inp.trainLabels.length}/${inp.testLabels.length} labels`);
  }
  const [trainX, testX] = preprocess(inp.trainEmb, inp.testEmb, dim, inp.normalize ?? 'standardize');

  const rand = mulberry32(inp.seed ?? 0);
  const xTrain = tf.tensor2d(trainX, [nTrain, dim]);
  const yTrain = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Int32Array.from(inp.trainLabels), 'int32'), numClasses), 'float32'));
  // Zero init: the objective is convex, so no random init is needed and the run is reproducible.
  // (tidy frees the zeros the variables are copied from.)
  const w = tf.tidy(() => tf.variable(tf.zeros([dim, numClasses])));
  const b = tf.tidy(() => tf.variable(tf.zeros([numClasses])));
  const optimizer = tf.train.adam(inp.learningRate ?? 0.01);
  let finalLoss = NaN;
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = permutation(nTrain, rand);
      let lossSum = 0;
      let batches = 0;
      for (let start = 0; start < nTrain; start += batchSize) {
        const idx = tf.tensor1d(order.subarray(start, Math.min(nTrain, start + batchSize)), 'int32');
        const loss = optimizer.minimize(
          () => {
            const logits = tf.add(tf.matMul(tf.gather(xTrain, idx), w), b);
            const ce = tf.losses.softmaxCrossEntropy(tf.gather(yTrain, idx), logits) as tf.Scalar;
            return weightDecay > 0 ? tf.add(ce, tf.mul(weightDecay, tf.sum(tf.square(w)))) : ce;
          },
          true,
          [w, b],
        );
        idx.dispose();
        if (epoch === epochs - 1 && loss) lossSum += loss.dataSync()[0];
        loss?.dispose();
        batches++;
      }
      if (epoch === epochs - 1) finalLoss = lossSum / batches;
    }
    return {
      accuracy: accuracy(predict(testX, nTest, dim, w, b), inp.testLabels),
      trainAccuracy: accuracy(predict(trainX, nTrain, dim, w, b), inp.trainLabels),
      finalLoss,
    };
  } finally {
    tf.dispose([xTrain, yTrain, w, b]);
    optimizer.dispose();
  }
}

/** argmax of `x W + b` in chunks, so a 60k-row set never materialises one big logits tensor. */
function predict(x: Float32Array, n: number, dim: number, w: tf.Variable, b: tf.Variable): Int32Array {
  const out = new Int32Array(n);
  const chunk = 4096;
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    const p = tf.tidy(() => tf.argMax(tf.add(tf.matMul(tf.tensor2d(x.subarray(start * dim, end * dim), [end - start, dim]), w), b), 1));
    out.set(p.dataSync() as Int32Array, start);
    p.dispose();
  }
  return out;
}

/** Applies the chosen normalisation, with statistics from the train set only. Returns copies. */
function preprocess(
  train: Float32Array,
  test: Float32Array,
  dim: number,
  mode: 'standardize' | 'l2' | 'none',
): [Float32Array, Float32Array] {
  const a = Float32Array.from(train);
  const c = Float32Array.from(test);
  if (mode === 'l2') {
    for (const m of [a, c]) {
      for (let r = 0; r < m.length; r += dim) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += m[r + j] * m[r + j];
        const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
        for (let j = 0; j < dim; j++) m[r + j] *= inv;
      }
    }
  } else if (mode === 'standardize') {
    const n = a.length / dim;
    const mean = new Float64Array(dim);
    const sq = new Float64Array(dim);
    for (let r = 0; r < a.length; r += dim) for (let j = 0; j < dim; j++) mean[j] += a[r + j];
    for (let j = 0; j < dim; j++) mean[j] /= n;
    for (let r = 0; r < a.length; r += dim) for (let j = 0; j < dim; j++) sq[j] += (a[r + j] - mean[j]) ** 2;
    // Constant dimensions (std 0) are only centred, not blown up.
    const inv = Array.from(sq, (s) => 1 / Math.max(Math.sqrt(s / n), 1e-6));
    for (const m of [a, c]) for (let r = 0; r < m.length; r += dim) for (let j = 0; j < dim; j++) m[r + j] = (m[r + j] - mean[j]) * inv[j];
  }
  return [a, c];
}
