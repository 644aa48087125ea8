/**
 * Reusable self-supervised losses. Synchronous and tensor-only, so they run inside
 * `optimizer.minimize` / `tf.tidy` and their intermediates are freed structurally.
 * (Functional tf.* ops throughout: chained-op typings are not visible under this toolchain.)
 */
import * as tf from '@tensorflow/tfjs-core';

/** Row-wise L2 normalisation. x [n, d] → [n, d] */
export function l2Normalize(x: tf.Tensor2D, eps = 1e-12): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), eps))));
}

/**
 * BYOL's regression loss (Grill et al. 2020, eq. 2): ‖q̄ − z̄′‖² = 2 − 2·⟨q, z′⟩/(‖q‖‖z′‖),
 * averaged over the batch. q, z [n, d]; z is the target and must not carry gradients.
 */
export function byolRegression(q: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const cos = tf.sum(tf.mul(l2Normalize(q), l2Normalize(z)), 1);
    return tf.mean(tf.sub(2, tf.mul(cos, 2))) as tf.Scalar;
  });
}

/**
 * InfoNCE (Oord et al. 2018, "Representation Learning with Contrastive Predictive Coding", eq. 4)
 * in its cross-entropy form over logits: −mean_i log softmax(logits_i)[positive_i].
 * logits [n, m], positives [n] int32 column index of each row's positive.
 */
export function crossEntropyWithIndex(logits: tf.Tensor2D, positives: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const onehot = tf.cast(tf.oneHot(tf.cast(positives, 'int32'), logits.shape[1]), 'float32');
    return tf.neg(tf.mean(tf.sum(tf.mul(logp, onehot), 1))) as tf.Scalar;
  });
}

/**
 * NT-Xent (SimCLR, Chen et al. 2020, eq. 1): for 2N projections of N positive pairs, each sample's
 * positive is its twin and the other 2(N−1) samples are negatives; cosine similarity / τ.
 * z1, z2 [n, d] (row i of z1 pairs with row i of z2) → scalar, averaged over all 2N anchors.
 */
export function ntXent(z1: tf.Tensor2D, z2: tf.Tensor2D, temperature = 0.5): tf.Scalar {
  return tf.tidy(() => {
    const n = z1.shape[0];
    const z = l2Normalize(tf.concat([z1, z2], 0));
    const sim = tf.div(tf.matMul(z, z, false, true), temperature);
    // An anchor is never its own negative: push the diagonal to −∞ (a large finite number keeps
    // softmax NaN-free on every backend).
    const logits = tf.sub(sim, tf.mul(tf.eye(2 * n), 1e9)) as tf.Tensor2D;
    const positives = tf.mod(tf.add(tf.range(0, 2 * n, 1, 'int32'), n), 2 * n) as tf.Tensor1D;
    return crossEntropyWithIndex(logits, positives);
  });
}

/**
 * InfoNCE with a shared bank of negatives (Oord et al. 2018, "Representation Learning with
 * Contrastive Predictive Coding", eq. 4; the MoCo form, He et al. 2020, eq. 1):
 *   L = −mean_i log( exp(s(q_i, k_i⁺)/τ) / (exp(s(q_i, k_i⁺)/τ) + Σ_j exp(s(q_i, n_j)/τ)) ),
 * with cosine scores s. Each query has one positive and the same M negatives (N = M + 1 scores).
 * SimCLR's NT-Xent is the special case whose negatives are the other in-batch samples.
 * query, positive [n, d]; negatives [m, d] (e.g. MoCo's queue) → scalar. Gradients flow into every
 * argument that is watched; MoCo passes keys and queue computed without a tape.
 */
export function infoNce(query: tf.Tensor2D, positive: tf.Tensor2D, negatives: tf.Tensor2D, temperature = 0.07): tf.Scalar {
  return tf.tidy(() => {
    const q = l2Normalize(query);
    const pos = tf.sum(tf.mul(q, l2Normalize(positive)), 1, true);
    const neg = tf.matMul(q, l2Normalize(negatives), false, true);
    const logits = tf.div(tf.concat([pos, neg], 1), temperature) as tf.Tensor2D;
    // The positive is column 0 of every row.
    return crossEntropyWithIndex(logits, tf.zeros([q.shape[0]], 'int32') as tf.Tensor1D);
  });
}
