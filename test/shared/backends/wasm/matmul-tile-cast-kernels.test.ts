/**
 * BatchMatMul, _FusedMatMul, Tile (and its gradient), Identity and Cast on wasm against cpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../../shared/backends/node-backend';
import { expectSame, onBoth, relErr, T, TOL, values } from './compare';

beforeAll(async () => {
  await tf.setBackend('cpu');
  expect(await initNodeBackend('wasm')).toBe('wasm');
});

describe('MatMul on wasm matches cpu', () => {
  for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`transposeA=${tA} transposeB=${tB}, rank 2, batched and fused`, async () => {
      await expectSame(() => {
        const a2 = T(tA ? [40, 24] : [24, 40], 7);
        const b2 = T(tB ? [16, 40] : [40, 16], 8);
        const a3 = T(tA ? [3, 40, 24] : [3, 24, 40], 9);
        const b3 = T(tB ? [3, 16, 40] : [3, 40, 16], 10);
        const bBroadcast = T(tB ? [1, 16, 40] : [1, 40, 16], 11);
        return [
          tf.matMul(a2, b2, tA, tB),
          tf.matMul(a3, b3, tA, tB),
          tf.matMul(a3, bBroadcast, tA, tB),
          tf.fused.matMul({ a: a2, b: b2, transposeA: tA, transposeB: tB, bias: T([16], 12), activation: 'relu' }),
        ];
      });
    });
  }
});

describe('Tile, Identity, Cast on wasm match cpu', () => {
  const cases: Array<[number[], number[]]> = [
    [[2, 3, 4, 1], [1, 1, 1, 5]],
    [[1, 1, 1, 7], [2, 3, 4, 1]],
    [[3, 4], [2, 3]],
    [[5], [40]],
    [[2, 1, 3], [3, 70, 2]],
  ];
  for (const [shape, reps] of cases) {
    it(`tile [${shape}] by [${reps}]`, async () => {
      await expectSame(() => tf.tile(T(shape, 13), reps));
      await expectSame(() => tf.tile(tf.cast(tf.mul(T(shape, 14), 100), 'int32'), reps));
      await expectSame(() => tf.cast(tf.tile(tf.greater(T(shape, 15), 0), reps), 'int32'));
    });
  }

  it('identity and casts', async () => {
    await expectSame(() => {
      const x = T([4, 5], 15);
      return [tf.clone(x), tf.cast(x, 'float32'), tf.cast(tf.cast(tf.mul(x, 10), 'int32'), 'float32')];
    });
  });

  it('Tile gradient sums the repetitions (checked against explicit slices)', async () => {
    const shape = [2, 1, 3];
    const reps = [2, 4, 3];
    const outShape = shape.map((d, i) => d * reps[i]);
    const { cpu, wasm } = await onBoth(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.tile(x, reps), T(outShape, 16))))(T(shape, 17)));
    // Reference: dx = sum over repetitions of the matching slice of dy.
    const dy = values(outShape, 16);
    const ref = new Float32Array(6);
    for (let i = 0; i < outShape[0]; i++)
      for (let j = 0; j < outShape[1]; j++)
        for (let k = 0; k < outShape[2]; k++) ref[(i % 2) * 3 + (k % 3)] += dy[(i * outShape[1] + j) * outShape[2] + k];
    expect(relErr(ref, cpu[0])).toBeLessThanOrEqual(TOL);
    expect(relErr(ref, wasm[0])).toBeLessThanOrEqual(TOL);
  });
});
