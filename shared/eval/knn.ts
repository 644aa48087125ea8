/**
 * Weighted k-nearest-neighbour classification of embeddings, the standard label-free-training
 * monitor of Wu, Xiong, Yu & Lin (2018), "Unsupervised Feature Learning via Non-Parametric
 * Instance Discrimination", §3.4: "We first compute its feature, compare it against the
 * embeddings of all the images in the memory bank, using cosine similarity s_i. The top k nearest
 * neighbours, N_k, would then be used to make the prediction via weighted voting ... w_c =
 * Σ_{i∈N_k} α_i · 1(c_i = c), α_i = exp(s_i/τ)". Defaults k = 20, τ = 0.07 as in the paper.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KnnOptions {
  /** Neighbours per query (clamped to the train size). Default 20. */
  k?: number;
  /** Temperature τ of the vote weights `exp(s/τ)`. Default 0.07. */
  temperature?: number;
  /**
   * Queries per similarity block. The block is `[chunkSize, nTrain]` floats: 256 × 60k is
   * ~61 MB, small enough for any backend, large enough for an efficient matmul.
   */
  chunkSize?: number;
}

export interface KnnInputs extends KnnOptions {
  /** `[nTrain, dim]` row-major. Need not be normalised. */
  trainEmb: Float32Array;
  /** `[nTrain]` class ids in `0 .. numClasses-1`. */
  trainLabels: ArrayLike<number>;
  /** `[nTest, dim]` row-major. */
  testEmb: Float32Array;
  dim: number;
  numClasses: number;
}

/**
 * Predicts a class for every test embedding: L2-normalise both sides, take the top-k cosine
 * similarities per query with a chunked matmul + `tf.topk`, and vote with weights `exp(s/τ)`.
 * Ties go to the lowest class id. Leaves no tensors behind.
 *
 * @returns `[nTest]` predicted class ids.
 */
export function knnPredict(inp: KnnInputs): Int32Array {
  const { trainEmb, trainLabels, testEmb, dim, numClasses } = inp;
  const temperature = inp.temperature ?? 0.07;
  const chunkSize = inp.chunkSize ?? 256;
  const nTrain = checkRows(trainEmb, dim, 'trainEmb');
  const nTest = checkRows(testEmb, dim, 'testEmb');
  if (trainLabels.length !== nTrain) throw new Error(`knn: ${nTrain} train rows but ${trainLabels.length} labels`);
  if (nTrain === 0) throw new Error('knn: empty train set');
  for (let i = 0; i < nTrain; i++) {
    const c = trainLabels[i];
    // An out-of-range label would silently drop its votes, so fail loudly instead.
    if (!(Number.isInteger(c) && c >= 0 && c < numClasses)) throw new Error(`knn: train label ${c} at ${i} is not in 0..${numClasses - 1}`);
  }
  const k = Math.min(inp.k ?? 20, nTrain);

  const preds = new Int32Array(nTest);
  // Stored transposed, [dim, nTrain]: the wasm backend's matmul is ~15x slower with
  // transposeB = true (measured: 553 ms vs 39 ms for 256x784 · 784x2000), cpu is indifferent.
  const trainT = tf.tidy(() => tf.transpose(l2Normalize(tf.tensor2d(trainEmb, [nTrain, dim]))));
  try {
    const scores = new Float64Array(numClasses);
    for (let start = 0; start < nTest; start += chunkSize) {
      const end = Math.min(nTest, start + chunkSize);
      const [simT, idxT] = tf.tidy(() => {
        const q = l2Normalize(tf.tensor2d(testEmb.subarray(start * dim, end * dim), [end - start, dim]));
        const { values, indices } = tf.topk(tf.matMul(q, trainT), k, true);
        return [values, indices];
      });
      const sims = simT.dataSync();
      const idx = idxT.dataSync();
      tf.dispose([simT, idxT]);
      for (let r = 0; r < end - start; r++) {
        scores.fill(0);
        // Shifting by the best similarity rescales all weights by one factor, which leaves the
        // vote unchanged but keeps exp() finite for any τ.
        const top = sims[r * k];
        for (let j = 0; j < k; j++) {
          scores[trainLabels[idx[r * k + j]]] += Math.exp((sims[r * k + j] - top) / temperature);
        }
        preds[start + r] = argmax(scores);
      }
    }
  } finally {
    trainT.dispose();
  }
  return preds;
}

/** Fraction of `testLabels` that `knnPredict` gets right, in `[0, 1]`. */
export function knnAccuracy(inp: KnnInputs & { testLabels: ArrayLike<number> }): number {
  const preds = knnPredict(inp);
  if (inp.testLabels.length !== preds.length) {
    throw new Error(`knn: ${preds.length} test rows but ${inp.testLabels.length} labels`);
  }
  return accuracy(preds, inp.testLabels);
}

/** Fraction of positions where `preds` and `labels` agree; they must be equally long. */
export function accuracy(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  // A length mismatch means rows and labels are not aligned: no accuracy is right then.
  if (preds.length !== labels.length) throw new Error(`accuracy: ${preds.length} predictions but ${labels.length} labels`);
  let hit = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === labels[i]) hit++;
  return preds.length === 0 ? 0 : hit / preds.length;
}

/** Rows scaled to unit L2 norm; all-zero rows stay zero (similarity 0 to everything). */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)));
}

function argmax(a: Float64Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

function checkRows(a: Float32Array, dim: number, name: string): number {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`knn: bad dim ${dim}`);
  if (a.length % dim !== 0) throw new Error(`knn: ${name} length ${a.length} is not a multiple of dim ${dim}`);
  return a.length / dim;
}
