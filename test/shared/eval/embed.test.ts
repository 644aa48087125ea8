import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../shared/data/rng';
import { embedAll } from '../../../shared/eval/embed';
import { useCpu } from '../../helpers/tf';

beforeAll(useCpu);

describe('embedAll', () => {
  it('equals one big predict, batch by batch, and frees every tensor', () => {
    const size = 4;
    const channels = 3;
    const count = 13;
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [size, size, channels], filters: 2, kernelSize: 3, seed: 1 } as never),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 5, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    const rand = mulberry32(9);
    const images = Float32Array.from({ length: count * size * size * channels }, rand);
    const before = tf.memory().numTensors;
    const emb = embedAll(model, images, count, size, channels, 5);
    expect(tf.memory().numTensors).toBe(before);
    expect(emb.length).toBe(count * 5);
    const ref = tf.tidy(() => (model.predict(tf.tensor4d(images, [count, size, size, channels])) as tf.Tensor).dataSync());
    for (let i = 0; i < emb.length; i++) expect(emb[i]).toBeCloseTo(ref[i], 5);
    model.dispose();
  });

  it('rejects a wrong image length', () => {
    const model = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [2, 2, 1] })] });
    expect(() => embedAll(model, new Float32Array(3), 1, 2, 1)).toThrow(/expected 1\*2\*2\*1/);
    model.dispose();
  });
});
