/**
 * The fused Adam update (kernel GlimpseAdam, FusedAdamOptimizer) against tfjs's stock
 * AdamOptimizer on the same backend: the same weights and moments to the bit after several steps,
 * on Glimpse's SIMD kernels, on the worker pool and on the JS fallback; and against stock Adam on
 * cpu (the reference backend) within the kernels' tolerance.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../../shared/backends/node-backend';
import { FusedAdamOptimizer } from '../../../../shared/train/fused-adam';
import { KERNEL_PATHS, onKernelPath, relErr, T, TOL, values } from './compare';

beforeAll(async () => {
  await tf.setBackend('cpu');
  expect(await initNodeBackend('wasm')).toBe('wasm');
});

// A scalar, a vector with a scalar tail (n % 4 = 3), a conv kernel, a dense kernel.
const SHAPES = [[], [7], [3, 3, 4, 8], [64, 33]];

/** Trains one variable per shape for `steps` steps with `opt`; returns weights then moments. */
async function train(opt: tf.AdamOptimizer, steps: number, tag: string): Promise<Float32Array[]> {
  const vars = tf.tidy(() => SHAPES.map((s, i) => tf.variable(T(s, 100 + i), true, `adam_${tag}_${i}`)));
  for (let t = 0; t < steps; t++) {
    // Gradients of very different scales, and zeros, as real layers give.
    tf.tidy(() => opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: tf.mul(T(v.shape, 200 + 10 * t + i), 10 ** (i - 2)) }))));
  }
  const [iterations, ...moments] = await opt.getWeights();
  const out = [...vars.map((v) => v.dataSync() as Float32Array), ...moments.map((w) => w.tensor.dataSync() as Float32Array)];
  iterations.tensor.dispose();
  vars.forEach((v) => v.dispose());
  opt.dispose();
  return out;
}

for (const path of KERNEL_PATHS) {
  describe(`fused Adam on wasm (${path})`, () => {
    onKernelPath(path);

    it('gives stock Adam\'s weights and moments to the bit, with a changing learning rate', async () => {
      await tf.setBackend('wasm');
      const run = async (make: () => tf.AdamOptimizer, tag: string) => {
        const out: Float32Array[][] = [];
        for (const lr of [1e-3, 3e-2]) {
          const opt = make();
          (opt as unknown as { learningRate: number }).learningRate = lr;
          out.push(await train(opt, 4, tag));
        }
        return out.flat();
      };
      const before = tf.memory().numTensors;
      const fused = await run(() => new FusedAdamOptimizer(1e-3, 0.9, 0.999), 'fused');
      const stock = await run(() => tf.train.adam(1e-3), 'stock');
      expect(tf.memory().numTensors).toBe(before);
      expect(fused.length).toBe(stock.length);
      stock.forEach((ref, i) => expect(Array.from(fused[i]), `array ${i}`).toEqual(Array.from(ref)));
    });

    it('runs as one GlimpseAdam kernel per variable, and matches stock Adam on cpu', async () => {
      await tf.setBackend('wasm');
      expect(FusedAdamOptimizer.fusedOnActiveBackend()).toBe(true);
      const opt = new FusedAdamOptimizer(1e-2, 0.9, 0.999);
      const v = tf.tidy(() => tf.variable(tf.tensor(values([5, 9], 3), [5, 9]), true, 'adam_profiled'));
      const g = T([5, 9], 4);
      opt.applyGradients([{ name: v.name, tensor: g }]);
      const info = await tf.profile(() => opt.applyGradients([{ name: v.name, tensor: g }]));
      expect(info.kernels.filter((k) => k.name === 'GlimpseAdam')).toHaveLength(1);
      expect(info.kernels.filter((k) => k.name === 'RealDiv' || k.name === 'Sqrt')).toHaveLength(0);
      const wasm = v.dataSync() as Float32Array;
      tf.dispose([v, g]);
      opt.dispose();

      await tf.setBackend('cpu');
      expect(FusedAdamOptimizer.fusedOnActiveBackend()).toBe(false);
      const ref = tf.tidy(() => tf.variable(tf.tensor(values([5, 9], 3), [5, 9]), true, 'adam_cpu'));
      const gc = T([5, 9], 4);
      const stock = new FusedAdamOptimizer(1e-2, 0.9, 0.999);
      stock.applyGradients([{ name: ref.name, tensor: gc }]);
      stock.applyGradients([{ name: ref.name, tensor: gc }]);
      expect(relErr(ref.dataSync() as Float32Array, wasm)).toBeLessThanOrEqual(TOL);
      tf.dispose([ref, gc]);
      stock.dispose();
    });
  });
}

describe('GlimpseAdam kernel', () => {
  it('rejects operands of another size with a clear error', async () => {
    await tf.setBackend('wasm');
    const [x, m, v, g] = [T([4], 1), T([4], 2), T([4], 3), T([5], 4)];
    const attrs = { beta1: 0.9, beta2: 0.999, oneMinusAccBeta1: 0.1, oneMinusAccBeta2: 0.001, epsilon: 1e-7, learningRate: 1e-3 };
    expect(() => tf.engine().runKernel('GlimpseAdam', { x, m, v, g }, attrs)).toThrow(/g has shape \[5\], x \[4\]/);
    expect(() => tf.engine().runKernel('GlimpseAdam', { x, m, v, g: x }, { ...attrs, learningRate: NaN })).toThrow(/learningRate/);
    tf.dispose([x, m, v, g]);
  });
});
