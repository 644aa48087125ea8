/**
 * tfjs's Adam with one kernel per variable where the backend has one (GlimpseAdam on wasm:
 * shared/backends/wasm/kernels/GlimpseAdam.ts), the stock update elsewhere. Stock Adam runs about
 * a dozen whole-tensor kernels per variable, each allocating its output: on a BYOL step's 768k
 * parameters that is 14 ms on one thread, all of it on the trainer's thread while a data-parallel
 * step's shard workers wait. The fused kernel computes the same float32 operations in the same
 * order, so the weights and moments are the stock optimizer's to the bit; its state (moments,
 * accumulated betas, iterations) is the stock object's, so getWeights / setWeights, the
 * learning-rate schedule and disposal are unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM } from '../backends/wasm/kernels/GlimpseAdam';

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/** AdamOptimizer's private state, which this subclass shares. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Slot[];
  accumulatedSecondMoment: Slot[];
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /** Whether the active backend runs the fused update (else the stock one). */
  static fusedOnActiveBackend(): boolean {
    return tf.getKernel(ADAM, tf.getBackend()) != null;
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!FusedAdamOptimizer.fusedOnActiveBackend()) return super.applyGradients(variableGradients);
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    tf.tidy(() => {
      // tfjs computes 1 − β^t in float32 from these float32 variables; the kernel rounds alike.
      const oneMinusAccBeta1 = 1 - state.accBeta1.dataSync()[0];
      const oneMinusAccBeta2 = 1 - state.accBeta2.dataSync()[0];
      const attrs = { beta1: this.beta1, beta2: this.beta2, oneMinusAccBeta1, oneMinusAccBeta2, epsilon: this.epsilon, learningRate: this.learningRate };
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        const slot = (moment: 'm' | 'v') => ({ originalName: `${name}/${moment}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) });
        state.accumulatedFirstMoment[i] ??= slot('m');
        state.accumulatedSecondMoment[i] ??= slot('v');
        const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : (variableGradients as Record<string, tf.Tensor>)[name];
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i].variable;
        const v = state.accumulatedSecondMoment[i].variable;
        const [x1, m1, v1] = tf.engine().runKernel(ADAM, { x: value, m, v, g: gradient }, attrs) as tf.Tensor[];
        m.assign(m1);
        v.assign(v1);
        value.assign(x1);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}
