/**
 * GatherV2 and AvgPoolGrad on wasm (Glimpse's heap kernels) against cpu, including the shapes a
 * training step gives them: the shift view's pixel gather and the encoder's 2×2-grid pooling.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../../shared/backends/node-backend';
import { randomShift } from '../../../../shared/augment';
import { expectSame, onBoth, T } from './compare';

beforeAll(async () => {
  await tf.setBackend('cpu');
  expect(await initNodeBackend('wasm')).toBe('wasm');
});

describe('GatherV2 on wasm matches cpu', () => {
  it('float32 and int32, every axis, repeated and multi-dimensional indices', async () => {
    const { cpu, wasm } = await onBoth(() => {
      const x = T([4, 5, 6], 1);
      const xi = tf.cast(tf.mul(T([7, 3], 2), 100), 'int32');
      const idx = tf.tensor1d([3, 0, 0, 2, 1], 'int32');
      const idx2 = tf.tensor2d([[1, 1], [0, 4]], [2, 2], 'int32');
      return [tf.gather(x, idx, 0), tf.gather(x, idx2, 1), tf.gather(x, tf.tensor1d([5, 0, 2], 'int32'), 2), tf.gather(x, idx2, -1), tf.gather(xi, tf.tensor1d([6, 6, 1], 'int32'))];
    });
    cpu.forEach((ref, i) => expect(Array.from(wasm[i]), `output ${i}`).toEqual(Array.from(ref)));
  });

  it('the shift view gives the same pixels on both backends', async () => {
    const { cpu, wasm } = await onBoth(() => randomShift(tf.mul(tf.add(T([8, 12, 12, 3], 3), 1), 0.5) as tf.Tensor4D, 3, 42));
    expect(Array.from(wasm[0])).toEqual(Array.from(cpu[0]));
  });

  it('an index out of range is a clear error and leaks nothing', async () => {
    await tf.setBackend('wasm');
    const x = T([3, 2], 4);
    const idx = tf.tensor1d([0, 3], 'int32');
    const before = tf.memory().numTensors;
    expect(() => tf.gather(x, idx)).toThrow(/index value 3 is not in \[0, 2\]/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, idx]);
  });
});

describe('AvgPoolGrad on wasm matches cpu', () => {
  // [input shape, filter, stride, pad]: the encoder's grid pooling (non-overlapping), overlapping
  // windows, 'same' padding with windows that leave the image.
  const cases: Array<[number[], number, number, 'valid' | 'same']> = [
    [[4, 8, 8, 16], 4, 4, 'valid'],
    [[2, 7, 7, 3], 3, 2, 'valid'],
    [[2, 6, 5, 4], 3, 1, 'same'],
    [[1, 9, 9, 2], 2, 3, 'same'],
  ];
  for (const [shape, f, s, pad] of cases) {
    it(`input [${shape.join(', ')}], window ${f}, stride ${s}, ${pad}`, async () => {
      await expectSame(() => {
        const x = T(shape, 5);
        const pooled = tf.avgPool(x as tf.Tensor4D, f, s, pad);
        const dy = T(pooled.shape, 6);
        return tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(xi as tf.Tensor4D, f, s, pad), dy)))(x);
      });
    });
  }
});
