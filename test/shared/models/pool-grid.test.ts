import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useCpu } from '../../helpers/tf';
import { buildEncoder, DEFAULT_ENCODER, featureMapSide, representationDim } from '../../../shared/models/encoder';
import { resolveMethodConfig } from '../../../shared/ssl/registry';

beforeAll(useCpu);

const small = { ...DEFAULT_ENCODER, inputSize: 16, stemWidth: 4, widths: [4, 6, 8] };

describe('encoder poolGrid', () => {
  it('pools the last feature map to a g×g grid flattened in NHWC order, with the same weights as global pooling', () => {
    const grid = buildEncoder({ ...small, poolGrid: 2 });
    const global = buildEncoder(small);
    try {
      expect(featureMapSide(small)).toBe(4);
      expect(representationDim({ ...small, poolGrid: 2 })).toBe(32);
      expect(grid.outputs[0].shape).toEqual([null, 32]);
      // Pooling has no weights: the weight names and shapes are those of the global-pool encoder.
      expect(grid.weights.map((w) => `${w.originalName}:${w.shape}`)).toEqual(global.weights.map((w) => `${w.originalName}:${w.shape}`));
      global.setWeights(grid.getWeights());
      const x = tf.randomUniform([3, 16, 16, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      // The feature map before pooling: the last block's output.
      const fmap = tfl.model({ inputs: grid.inputs, outputs: grid.getLayer('enc_s3_b1_relu2').output as tfl.SymbolicTensor });
      const f = fmap.predict(x) as tf.Tensor4D; // [3, 4, 4, 8]
      const expected = tf.reshape(tf.avgPool(f, 2, 2, 'valid'), [3, 32]);
      const y = grid.predict(x) as tf.Tensor;
      expect(Math.max(...(tf.abs(tf.sub(y, expected)).dataSync() as Float32Array))).toBeLessThan(1e-6);
      // The mean of the four cells is the global average pool.
      const cells = tf.mean(tf.reshape(y, [3, 4, 8]), 1);
      const g = global.predict(x) as tf.Tensor;
      expect(Math.max(...(tf.abs(tf.sub(cells, g)).dataSync() as Float32Array))).toBeLessThan(1e-5);
      tf.dispose([x, f, expected, y, cells, g]);
    } finally {
      grid.dispose();
      global.dispose();
    }
  });

  it('rejects a grid that does not divide the last feature map', () => {
    expect(() => buildEncoder({ ...small, poolGrid: 3 })).toThrow(/invalid encoder config/);
    expect(() => buildEncoder({ ...small, poolGrid: 0 })).toThrow(/invalid encoder config/);
  });

  it('the joint-embedding methods pool to 2×2 by default, the pretext tasks globally', () => {
    for (const m of ['simclr', 'byol', 'moco', 'mocov2']) expect(resolveMethodConfig(m).encoder.poolGrid, m).toBe(2);
    expect(resolveMethodConfig('rotation').encoder.poolGrid ?? 1).toBe(1);
    // An override of other encoder fields keeps the method's pooling; an explicit poolGrid wins.
    expect(resolveMethodConfig('simclr', { encoder: { widths: [8, 8, 8] } as never }).encoder.poolGrid).toBe(2);
    expect(resolveMethodConfig('simclr', { encoder: { poolGrid: 1 } as never }).encoder.poolGrid).toBe(1);
  });
});
