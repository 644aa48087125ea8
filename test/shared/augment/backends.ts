import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { expect } from 'vitest';

/** The augmentations must agree on the reference backend and on wasm (what Node training uses). */
export const BACKENDS = ['cpu', 'wasm'] as const;

export async function useBackend(name: (typeof BACKENDS)[number]): Promise<void> {
  // setBackend resolves false (with only a warning) when a backend fails to initialise.
  expect(await tf.setBackend(name)).toBe(true);
  await tf.ready();
  expect(tf.getBackend()).toBe(name);
}

/** A deterministic `[b, h, w, c]` batch in `[0, 1)`. */
export function randomImages(shape: [number, number, number, number], seed = 1): tf.Tensor4D {
  return tf.randomUniform(shape, 0, 1, 'float32', seed) as tf.Tensor4D;
}

/** Asserts shape and that every value lies in `[0, 1]`. */
export function expectImages(t: tf.Tensor, shape: number[]): void {
  expect(t.shape).toEqual(shape);
  expect(t.dtype).toBe('float32');
  const v = t.dataSync();
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  expect(lo).toBeGreaterThanOrEqual(0);
  expect(hi).toBeLessThanOrEqual(1);
}

/** Largest absolute difference between two tensors of the same shape. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** Largest difference between the channels of each pixel of a `[b, h, w, 3]` batch. */
export function maxChannelSpread(t: tf.Tensor4D): number {
  const v = t.dataSync();
  let m = 0;
  for (let i = 0; i < v.length; i += 3) {
    m = Math.max(m, Math.abs(v[i] - v[i + 1]), Math.abs(v[i] - v[i + 2]));
  }
  return m;
}
