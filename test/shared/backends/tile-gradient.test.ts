import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// Registers tfjs-core's gradients (the Node bundle of tfjs-core does not).
import '@tensorflow/tfjs-layers';
import { registerTileGradient } from '../../../shared/backends/tile-gradient';

describe('Tile gradient', () => {
  it('equals the stock gradient for broadcast and general tilings, with far fewer kernels', async () => {
    await tf.setBackend('cpu');
    const cases: [number[], number[]][] = [
      [[1, 1, 1, 4], [2, 3, 5, 1]], // LayerNorm gamma over an activation
      [[2, 3], [2, 2]], // general tiling
      [[2, 1, 3], [1, 4, 2]], // mixed: a broadcast axis and a repeated one
      [[3], [1]],
    ];
    const grads = (shape: number[], reps: number[]) => {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 7);
      const w = tf.randomNormal(shape.map((d, i) => d * reps[i]), 0, 1, 'float32', 8);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.tile(v, reps), w)))(x);
      const out = Array.from(g.dataSync());
      tf.dispose([x, w, g]);
      return out;
    };
    const stock = cases.map(([s, r]) => grads(s, r));
    const kernelsStock = (await tf.profile(() => grads(...cases[0]))).kernels.length;
    registerTileGradient();
    const ours = cases.map(([s, r]) => grads(s, r));
    const kernelsOurs = (await tf.profile(() => grads(...cases[0]))).kernels.length;
    ours.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(stock[i][j], 4)));
    expect(kernelsOurs).toBeLessThan(kernelsStock / 4);
  });
});
