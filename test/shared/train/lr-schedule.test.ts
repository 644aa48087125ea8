import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// Registers the gradients (tfjs-core alone has none).
import '@tensorflow/tfjs-layers';
import { setLearningRate, warmupCosineRate } from '../../../shared/train/lr-schedule';

describe('warm-up + cosine learning rate', () => {
  const s = { peak: 1e-3, warmupSteps: 10, totalSteps: 110 };
  it('rises linearly to the peak, then follows half a cosine to the floor', () => {
    expect(warmupCosineRate(0, s)).toBeCloseTo(1e-4, 12);
    expect(warmupCosineRate(9, s)).toBeCloseTo(1e-3, 12);
    expect(warmupCosineRate(10, s)).toBeCloseTo(1e-3, 12);
    expect(warmupCosineRate(60, s)).toBeCloseTo(5e-4, 12);
    expect(warmupCosineRate(110, s)).toBeCloseTo(0, 12);
    expect(warmupCosineRate(500, { ...s, floor: 0.1 })).toBeCloseTo(1e-4, 12);
    for (let i = 11; i < 110; i++) expect(warmupCosineRate(i, s)).toBeLessThan(warmupCosineRate(i - 1, s));
  });
  it('rejects a schedule without a peak or length', () => {
    expect(() => warmupCosineRate(0, { ...s, peak: 0 })).toThrow(/bad schedule/);
    expect(() => warmupCosineRate(0, { ...s, totalSteps: 0 })).toThrow(/bad schedule/);
  });
  it('changes the step size an Adam optimizer applies', async () => {
    await tf.setBackend('cpu');
    const opt = tf.train.adam(1);
    const v = tf.variable(tf.scalar(0));
    // Adam's first step moves by ≈ the learning rate whatever the gradient's scale.
    setLearningRate(opt, 0.25);
    opt.minimize(() => tf.mul(v, 3) as tf.Scalar, false, [v]);
    expect(v.dataSync()[0]).toBeCloseTo(-0.25, 4);
    opt.dispose();
    v.dispose();
  });
});
